build-mine-asan/runner/scenario.o: runner/scenario.c runner/scenario.h \
 chaos/client.h runner/gate.h runner/stats.h mockprov/fault.h \
 mockprov/profile.h
runner/scenario.h:
chaos/client.h:
runner/gate.h:
runner/stats.h:
mockprov/fault.h:
mockprov/profile.h:
