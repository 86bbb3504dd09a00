build-mine-asan/tests/check.o: tests/check.c tests/check.h
tests/check.h:
