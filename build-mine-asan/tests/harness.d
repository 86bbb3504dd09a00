build-mine-asan/tests/harness.o: tests/harness.c tests/harness.h \
 common/clock.h
tests/harness.h:
common/clock.h:
