build-rep/mockprov/request.o: mockprov/request.c mockprov/request.h
mockprov/request.h:
