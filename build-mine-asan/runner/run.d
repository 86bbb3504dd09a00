build-mine-asan/runner/run.o: runner/run.c runner/run.h chaos/client.h \
 chaos/proxy.h chaos/toxic.h chaos/toxic.h common/clock.h \
 runner/gateway.h mockprov/profile.h runner/results.h runner/gate.h \
 runner/stats.h runner/scenario.h
runner/run.h:
chaos/client.h:
chaos/proxy.h:
chaos/toxic.h:
chaos/toxic.h:
common/clock.h:
runner/gateway.h:
mockprov/profile.h:
runner/results.h:
runner/gate.h:
runner/stats.h:
runner/scenario.h:
