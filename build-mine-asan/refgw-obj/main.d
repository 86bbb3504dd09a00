build-mine-asan/refgw-obj/main.o: refgw/main.c refgw/relay.h
refgw/relay.h:
