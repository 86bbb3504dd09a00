build-mine/tests/test_refgw: tests/test_refgw.c tests/check.h \
 common/clock.h tests/harness.h refgw/meter.h
tests/check.h:
common/clock.h:
tests/harness.h:
refgw/meter.h:
