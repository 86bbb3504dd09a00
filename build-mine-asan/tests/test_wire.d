build-mine-asan/tests/test_wire: tests/test_wire.c tests/check.h \
 mockprov/wire.h mockprov/request.h
tests/check.h:
mockprov/wire.h:
mockprov/request.h:
