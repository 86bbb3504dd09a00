build-mine-asan/tests/test_fault: tests/test_fault.c tests/check.h \
 mockprov/fault.h
tests/check.h:
mockprov/fault.h:
