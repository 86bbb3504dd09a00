build-mine-asan/runner/stats.o: runner/stats.c runner/stats.h
runner/stats.h:
