build-mine-asan/refgw-obj/meter.o: refgw/meter.c refgw/meter.h
refgw/meter.h:
