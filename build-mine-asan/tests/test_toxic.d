build-mine-asan/tests/test_toxic: tests/test_toxic.c tests/check.h \
 chaos/toxic.h
tests/check.h:
chaos/toxic.h:
