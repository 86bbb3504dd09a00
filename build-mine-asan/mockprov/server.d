build-mine-asan/mockprov/server.o: mockprov/server.c mockprov/server.h \
 common/clock.h mockprov/engine.h mockprov/fault.h mockprov/ledger.h \
 mockprov/profile.h mockprov/request.h mockprov/wheel.h mockprov/wire.h
mockprov/server.h:
common/clock.h:
mockprov/engine.h:
mockprov/fault.h:
mockprov/ledger.h:
mockprov/profile.h:
mockprov/request.h:
mockprov/wheel.h:
mockprov/wire.h:
