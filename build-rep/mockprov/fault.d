build-rep/mockprov/fault.o: mockprov/fault.c mockprov/fault.h
mockprov/fault.h:
