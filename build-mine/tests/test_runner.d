build-mine/tests/test_runner: tests/test_runner.c tests/check.h
tests/check.h:
