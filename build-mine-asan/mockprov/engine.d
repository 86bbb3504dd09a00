build-mine-asan/mockprov/engine.o: mockprov/engine.c mockprov/engine.h
mockprov/engine.h:
