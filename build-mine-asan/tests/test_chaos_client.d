build-mine-asan/tests/test_chaos_client: tests/test_chaos_client.c \
 chaos/client.h tests/check.h tests/harness.h
chaos/client.h:
tests/check.h:
tests/harness.h:
