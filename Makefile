# autoresume - transparent TLS session resumption for OpenSSL clients.
#
#   make                 build build/libautoresume.so (and the test client)
#   make test            fuzz smoke, valgrind and ASan+UBSan runs, unit tests, integration suite
#   make check-asan      unit + integration tests with the library built with ASan + UBSan
#   make check-valgrind  C client and python cases under valgrind memcheck
#   make fuzz            fuzz the store entry decoder (FUZZ_SECONDS, default 60)
#   make bench           the benchmark (bench/run.sh): ratios measured side by side
#   make stress          fault, behaviour and concurrency cases, three times over
#   make demo            a local nginx and a python client, with and without us
#   make install / uninstall   honour PREFIX and DESTDIR

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib/autoresume
MANDIR  ?= $(PREFIX)/share/man/man1
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
VERSION := 0.1.0

CC      ?= cc
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -fPIC -fvisibility=hidden -Iinclude $(CPPFLAGS) $(CFLAGS)
LDLIBS_LIB := -ldl -lpthread

CORE_SRCS := preload/fd.c preload/log.c preload/nodelay.c preload/sock.c preload/config.c preload/key.c preload/cache.c preload/entry.c \
             preload/store.c preload/stats.c preload/hello.c preload/conntrack.c preload/verdict.c
SHARED_SRCS := preload/dl.c preload/route.c preload/state.c preload/hooks_libc.c
GTLS_SRCS := preload/gtls_sym.c preload/gtls_state.c preload/gtls_key.c preload/gtls_verify.c \
             preload/gtls_resume.c preload/hooks_gnutls.c
OSSL_SRCS := preload/ossl_sym.c preload/ossl_state.c preload/ossl_ctx.c preload/ossl_key.c preload/ossl_ciphers.c \
             preload/ossl_verify.c preload/ossl_policy.c preload/ossl_resume.c preload/hooks_openssl.c \
             preload/hooks_verify_params.c
LIB_SRCS  := $(CORE_SRCS) $(SHARED_SRCS) $(OSSL_SRCS) $(GTLS_SRCS)
UNIT_SRCS := $(wildcard tests/unit/*.c)

B := build
LIB := $(B)/libautoresume.so

.PHONY: FORCE all test unit integration fuzz-smoke check-asan check-valgrind demo bench stress install uninstall clean

include fuzz/fuzz.mk

all: $(LIB) $(B)/autoresume $(B)/autoresume-store $(B)/autoresume-check $(B)/arclient

$(B)/autoresume-store: cli/autoresume_store.c $(CORE_SRCS:%.c=$(B)/obj/%.o)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^

# The wrapper: build/autoresume finds the library next to itself; the
# installed one (AR_WRAPPER_INSTALLED) looks in LIBDIR (see cli/autoresume.c).
WRAPPER_FLAGS = -DAR_VERSION='"$(VERSION)"'
$(B)/autoresume: cli/autoresume.c include/ar_env.h | $(B)
	$(CC) $(ALL_CFLAGS) $(WRAPPER_FLAGS) $(LDFLAGS) -o $@ $<

$(B)/autoresume.installed: cli/autoresume.c include/ar_env.h FORCE | $(B)
	$(CC) $(ALL_CFLAGS) $(WRAPPER_FLAGS) -DAR_WRAPPER_INSTALLED \
	    -DAR_PREFIX='"$(PREFIX)"' -DAR_LIBDIR='"$(LIBDIR)"' $(LDFLAGS) -o $@ $<

FORCE:

$(B)/autoresume-check: cli/autoresume_check.c $(B)/obj/check/elf.o
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^

$(B)/obj/%.o: %.c $(wildcard include/*.h) | $(B)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_SRCS:%.c=$(B)/obj/%.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,--no-undefined -Wl,-soname,libautoresume.so -o $@ $^ $(LDLIBS_LIB)

$(B)/arclient: tests/client/arclient.c | $(B)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(CFLAGS) -o $@ $< -lssl -lcrypto -lpthread

$(B)/unit_tests: $(UNIT_SRCS) $(CORE_SRCS) preload/state.c check/elf.c $(wildcard include/*.h) | $(B)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude $(CFLAGS) -o $@ \
	    $(UNIT_SRCS) $(CORE_SRCS) preload/state.c check/elf.c preload/hooks_libc.c -ldl -lcriterion -lpthread

$(B):
	mkdir -p $(B)

unit: $(B)/unit_tests
	$(B)/unit_tests

integration: all
	tests/integration/run.sh

# A short libFuzzer run of the store entry decoder (make fuzz runs longer).
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=20

test: fuzz-smoke check-valgrind check-asan unit integration

# Sanitizers. The unit tests link the runtime normally. For the preload the
# ASan runtime must be first in the process: the integration suite is run
# with LD_PRELOAD="libasan.so libubsan.so build/asan/libautoresume.so" (see
# tests/integration/run.sh, AR_ASAN=1).
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
check-asan: | $(B)
	$(MAKE) B=$(B)/asan CFLAGS="-O1 -g $(ASAN_FLAGS)" $(B)/asan/libautoresume.so $(B)/asan/unit_tests
	$(B)/asan/unit_tests
	$(MAKE) all
	AR_LIB=$(CURDIR)/$(B)/asan/libautoresume.so \
	AR_PRELOAD_FIRST="$$($(CC) -print-file-name=libasan.so)" \
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    tests/integration/run.sh

check-valgrind: all
	tests/valgrind.sh

demo: all
	scripts/demo.sh

bench: all
	bench/run.sh

# Longer stress: the fault, program-behaviour and concurrency cases three times over.
stress: all
	for i in 1 2 3; do \
	    tests/integration/run.sh 'prog.*' 'fault.*' 'store.sigkill' 'store.parallel-curl' 'threads.*' || exit 1; \
	done

# The installed wrapper (build/autoresume.installed, rebuilt with this
# PREFIX and LIBDIR each time) looks for the library in LIBDIR, under its own
# tree first (a DESTDIR staging tree), then at LIBDIR itself.
install: $(LIB) $(B)/autoresume.installed $(B)/autoresume-store $(B)/autoresume-check
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 $(LIB) $(DESTDIR)$(LIBDIR)/libautoresume.so
	install -m 0755 $(B)/autoresume-store $(DESTDIR)$(LIBDIR)/autoresume-store
	install -m 0755 $(B)/autoresume-check $(DESTDIR)$(LIBDIR)/autoresume-check
	install -m 0755 $(B)/autoresume.installed $(DESTDIR)$(BINDIR)/autoresume
	install -m 0644 man/autoresume.1 $(DESTDIR)$(MANDIR)/autoresume.1
	install -m 0644 completion/autoresume.bash $(DESTDIR)$(COMPLETIONDIR)/autoresume

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/autoresume $(DESTDIR)$(LIBDIR)/libautoresume.so \
	      $(DESTDIR)$(LIBDIR)/autoresume-store $(DESTDIR)$(LIBDIR)/autoresume-check \
	      $(DESTDIR)$(MANDIR)/autoresume.1 $(DESTDIR)$(COMPLETIONDIR)/autoresume
	-rmdir $(DESTDIR)$(LIBDIR) 2>/dev/null

clean:
	rm -rf $(B)
