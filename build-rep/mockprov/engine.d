build-rep/mockprov/engine.o: mockprov/engine.c mockprov/engine.h
mockprov/engine.h:
