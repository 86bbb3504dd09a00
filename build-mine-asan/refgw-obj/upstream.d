build-mine-asan/refgw-obj/upstream.o: refgw/upstream.c refgw/upstream.h
refgw/upstream.h:
