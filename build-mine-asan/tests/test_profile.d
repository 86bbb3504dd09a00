build-mine-asan/tests/test_profile: tests/test_profile.c tests/check.h \
 mockprov/profile.h
tests/check.h:
mockprov/profile.h:
