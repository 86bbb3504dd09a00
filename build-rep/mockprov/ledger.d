build-rep/mockprov/ledger.o: mockprov/ledger.c mockprov/ledger.h
mockprov/ledger.h:
