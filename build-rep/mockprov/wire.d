build-rep/mockprov/wire.o: mockprov/wire.c mockprov/wire.h \
 mockprov/request.h mockprov/engine.h
mockprov/wire.h:
mockprov/request.h:
mockprov/engine.h:
