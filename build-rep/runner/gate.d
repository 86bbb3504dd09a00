build-rep/runner/gate.o: runner/gate.c runner/gate.h runner/stats.h
runner/gate.h:
runner/stats.h:
