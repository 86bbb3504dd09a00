build-mine-asan/tests/test_scanner: tests/test_scanner.c tests/check.h \
 chaos/scanner.h
tests/check.h:
chaos/scanner.h:
