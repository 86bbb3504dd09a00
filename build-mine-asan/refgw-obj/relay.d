build-mine-asan/refgw-obj/relay.o: refgw/relay.c refgw/relay.h \
 common/clock.h refgw/meter.h refgw/upstream.h
refgw/relay.h:
common/clock.h:
refgw/meter.h:
refgw/upstream.h:
