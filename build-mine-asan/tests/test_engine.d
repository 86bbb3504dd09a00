build-mine-asan/tests/test_engine: tests/test_engine.c tests/check.h \
 mockprov/engine.h
tests/check.h:
mockprov/engine.h:
