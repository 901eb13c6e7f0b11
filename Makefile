# onionbalance-offline build.
#
#   make                 build/ob-online and build/ob-offline (optimised, hardened)
#   make check           lint, then every test under ASan+UBSan (build/san)
#   make CC=clang        the same with clang
#   make deps            install the Debian packages the build and tests need
#   make demo            the main job, end to end (MODE=delegated: the delegated mode)
#   make install PREFIX=/usr/local   both programs, man pages, completion, docs, the unit
#   make install-offline             ob-offline alone (the offline machine)
#   make deb                         the Debian packages ob-online and ob-offline (../*.deb)
#
# Sources are picked up by directory: format/*/*.c is shared (its folders are
# listed in docs/architecture.rst), online/*.c and offline/*.c belong to one
# program each (their main.c holds main()).  The
# programs link against static libraries, so a program only contains the
# shared objects it calls; tests/unit/test_symbols.sh checks the separation.

CC      ?= cc
PREFIX  ?= /usr/local
# Install locations (docs/packaging.rst).  The systemd unit names BINDIR in its
# ExecStart; systemd, sysusers and tmpfiles also search /usr/local/lib.
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/onionbalance-offline
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
BUILD   ?= build
SAN     ?= 0
PKG_CONFIG ?= pkg-config

# format/ is grouped by concern; every folder is on the include path so that
# includes stay short ("bundle.h", not "../bundle/bundle.h").
FORMAT_DIRS := core hs bundle config transfer verbs
FORMAT_INC  := $(addprefix -Iformat/,$(FORMAT_DIRS))

PKGS      := libcrypto libsodium yaml-0.1 libqrencode zbar zlib libpng
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wpointer-arith -Wvla -Wundef
ifeq ($(SAN),1)
# gcc's -Wformat-truncation guesses differently at -O1 than at -O2 and
# flags snprintf calls whose truncation is handled; the -O2 build keeps it.
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
       -Wno-format-truncation
LDSAN := -fsanitize=address,undefined
else
OPT := -O2 -g -D_FORTIFY_SOURCE=2
LDSAN :=
endif
CFLAGS ?=
ALL_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) $(WARN) -pthread \
              -fstack-protector-strong -fPIE $(FORMAT_INC) -Ionline -Ioffline $(PKG_CFLAGS) $(CFLAGS)
# --as-needed: a program records only the libraries it calls into, so the
# packages' dependencies (dpkg-shlibdeps) follow what each really uses.
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDSAN) $(LDFLAGS)

ifneq ($(wildcard format/*.c),)
$(error format/ holds sources only in its folders ($(FORMAT_DIRS)): move $(wildcard format/*.c))
endif
FORMAT_SRC  := $(sort $(foreach d,$(FORMAT_DIRS),$(wildcard format/$(d)/*.c)))
ONLINE_SRC  := $(sort $(filter-out online/main.c,$(wildcard online/*.c)))
OFFLINE_SRC := $(sort $(filter-out offline/main.c,$(wildcard offline/*.c)))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES  := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))

# Quiet by default; `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

FORMAT_LIB  := $(BUILD)/libobformat.a
ONLINE_LIB  := $(BUILD)/libobonline.a
OFFLINE_LIB := $(BUILD)/liboboffline.a
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
REPLAY_BIN  := $(addprefix $(BUILD)/fuzz-replay/,$(FUZZ_NAMES))

.SECONDARY:
.PHONY: all check unit lint fmt deps install install-online install-offline uninstall deb demo e2e \
        reachability bench fuzz fuzz-long fuzz-seeds clean
all: $(BUILD)/ob-online $(BUILD)/ob-offline

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(FORMAT_LIB): $(call obj,$(FORMAT_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^
$(ONLINE_LIB): $(call obj,$(ONLINE_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^
$(OFFLINE_LIB): $(call obj,$(OFFLINE_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/ob-online: $(call obj,online/main.c) $(ONLINE_LIB) $(FORMAT_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/ob-offline: $(call obj,offline/main.c) $(OFFLINE_LIB) $(FORMAT_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Unit tests may reach into either side; the products may not (see above).
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(OFFLINE_LIB) $(ONLINE_LIB) $(FORMAT_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

unit: all $(UNIT_BIN) $(REPLAY_BIN)

# The test programs are built with sanitizers in their own tree.
check: lint
	$(MAKE) BUILD=$(BUILD)/san SAN=1 unit
	OB_BUILD=$(BUILD)/san ./tests/run.sh

lint:
	./tests/lint.sh

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')

deps:
	./tests/deps.sh

e2e: all
	OB_BUILD=$(BUILD) ./tests/run.sh e2e

# About 90 minutes on a private Tor network (docs/reachability.rst); make
# check skips it.  The measurement is appended to $(BUILD)/reachability.log.
reachability: all
	OB_REACHABILITY=1 OB_BUILD=$(BUILD) REACH_LOG=$(BUILD)/reachability.log \
	    bash tests/e2e/test_reachability.sh

# The ceremonies it measures are made by the test fixture's generator.
bench: all $(BUILD)/tests/test_ceremony_fixture
	OB_BUILD=$(BUILD) ./tests/bench/run.sh

# On a fresh machine the packages come first, then the build.
demo: deps
	$(MAKE) all
	DEMO_MODE=$(MODE) ./tests/demo.sh

# Fuzzing (docs/fuzzing.rst).  One target per tests/fuzz/fuzz_*.c, each with
# a seed corpus in tests/fuzz/corpus/<target>/ and the inputs that ever
# crashed it in tests/fuzz/crashes/<target>/.
#
#   make fuzz            libFuzzer programs in build/fuzz/ (clang, ASan+UBSan,
#                        every object instrumented), e.g.
#                        build/fuzz/fuzz_bundle -max_total_time=60 tests/fuzz/corpus/fuzz_bundle
#   make fuzz-long       each target 10 minutes (FUZZ_TIME=600 s, FUZZ_JOBS=2 at a
#                        time, nice 19) on a scratch copy of its corpus; the
#                        figures go to build/fuzz/long/summary.txt
#   make unit            also links each target with tests/fuzz/replay.c (no
#                        libFuzzer: any compiler) into $(BUILD)/fuzz-replay/;
#                        tests/unit/test_fuzz_replay.sh replays the corpora and
#                        crash inputs with them in make check.
#
# The targets may reach into both sides (they link all three libraries, as
# the unit tests do); they are not products, so the separation that
# tests/unit/test_symbols.sh checks is untouched.
FUZZ_CC    ?= clang
FUZZ_DIR   := $(BUILD)/fuzz
FUZZ_TIME  ?= 600
FUZZ_JOBS  ?= 2
FUZZ_BIN   := $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))
fuzzobj     = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(1))
FUZZ_LIBS  := $(FUZZ_DIR)/liboboffline.a $(FUZZ_DIR)/libobonline.a $(FUZZ_DIR)/libobformat.a
FUZZ_FLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer -pthread \
              -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all $(WARN) \
              $(FORMAT_INC) -Ionline -Ioffline $(PKG_CFLAGS)

fuzz: $(FUZZ_BIN)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/libobformat.a: $(call fuzzobj,$(FORMAT_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^
$(FUZZ_DIR)/libobonline.a: $(call fuzzobj,$(ONLINE_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^
$(FUZZ_DIR)/liboboffline.a: $(call fuzzobj,$(OFFLINE_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_BIN): $(FUZZ_DIR)/%: $(FUZZ_DIR)/obj/tests/fuzz/%.o $(FUZZ_LIBS)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

fuzz-long: $(FUZZ_BIN)
	FUZZ_DIR=$(FUZZ_DIR) FUZZ_TIME=$(FUZZ_TIME) FUZZ_JOBS=$(FUZZ_JOBS) ./tests/fuzz/long.sh $(FUZZ_NAMES)

# The seeds (tests/fuzz/make_seeds.sh rewrites tests/fuzz/corpus/ from the
# test data, the programs and tests/fuzz/seedgen.c; run it after a format change).
fuzz-seeds: all $(UNIT_BIN) $(BUILD)/fuzz-replay/seedgen
	OB_BUILD=$(BUILD) ./tests/fuzz/make_seeds.sh

$(BUILD)/fuzz-replay/seedgen: $(BUILD)/obj/tests/fuzz/seedgen.o $(OFFLINE_LIB) $(ONLINE_LIB) $(FORMAT_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The same entry points under the build's own compiler and sanitizers.
$(REPLAY_BIN): $(BUILD)/fuzz-replay/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay.o \
               $(OFFLINE_LIB) $(ONLINE_LIB) $(FORMAT_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The unit, sysusers.d and tmpfiles.d files come with ob-online; as root,
# after `make install`: systemd-sysusers; systemd-tmpfiles --create;
# systemctl daemon-reload (the Debian package does this itself).
install: install-online install-offline
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 README.rst docs/*.rst $(DESTDIR)$(DOCDIR)/
	install -m 0644 dist/examples/ob-online.yaml $(DESTDIR)$(DOCDIR)/examples/

install-online: $(BUILD)/ob-online
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0755 $(BUILD)/ob-online $(DESTDIR)$(BINDIR)/
	install -m 0644 man/ob-online.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 dist/bash-completion/onionbalance-offline $(DESTDIR)$(BASHCOMPDIR)/ob-online
	sed 's|/usr/bin/ob-online|$(BINDIR)/ob-online|' dist/systemd/ob-online.service \
	    >$(DESTDIR)$(SYSTEMDUNITDIR)/ob-online.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/ob-online.service
	install -m 0644 dist/systemd/ob-online.sysusers $(DESTDIR)$(SYSUSERSDIR)/ob-online.conf
	install -m 0644 dist/systemd/ob-online.tmpfiles $(DESTDIR)$(TMPFILESDIR)/ob-online.conf

install-offline: $(BUILD)/ob-offline
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BUILD)/ob-offline $(DESTDIR)$(BINDIR)/
	install -m 0644 man/ob-offline.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 dist/bash-completion/onionbalance-offline $(DESTDIR)$(BASHCOMPDIR)/ob-offline

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ob-online $(DESTDIR)$(BINDIR)/ob-offline \
	      $(DESTDIR)$(MANDIR)/man1/ob-online.1 $(DESTDIR)$(MANDIR)/man1/ob-offline.1 \
	      $(DESTDIR)$(BASHCOMPDIR)/ob-online $(DESTDIR)$(BASHCOMPDIR)/ob-offline \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/ob-online.service $(DESTDIR)$(SYSUSERSDIR)/ob-online.conf \
	      $(DESTDIR)$(TMPFILESDIR)/ob-online.conf
	rm -rf $(DESTDIR)$(DOCDIR)

# The Debian packages (debian/, docs/packaging.rst): $(BUILD)/debs/ob-online_*.deb
# and ob-offline_*.deb.  Not part of `make check`: it builds from scratch.
OB_DEB_VERSION = $(shell dpkg-parsechangelog -S Version 2>/dev/null)
# dpkg-buildpackage writes beside the source tree; the results are moved to
# $(BUILD)/debs so that nothing lands in the parent folder.  SHA256SUMS there
# holds the packages' digests and the programs' own (as installed, for
# `sha256sum -c` on the offline machine: docs/offline-machine.rst).
deb:
	dpkg-buildpackage -us -uc -b
	mkdir -p $(BUILD)/debs
	mv ../ob-online_$(OB_DEB_VERSION)_* ../ob-offline_$(OB_DEB_VERSION)_* \
	   ../ob-online-dbgsym_$(OB_DEB_VERSION)_* ../ob-offline-dbgsym_$(OB_DEB_VERSION)_* \
	   ../onionbalance-offline_$(OB_DEB_VERSION)_*.buildinfo \
	   ../onionbalance-offline_$(OB_DEB_VERSION)_*.changes $(BUILD)/debs/
	cd $(BUILD)/debs && sha256sum ob-online_$(OB_DEB_VERSION)_*.deb ob-offline_$(OB_DEB_VERSION)_*.deb \
	    >SHA256SUMS && for p in ob-online ob-offline; do \
	    dpkg-deb --fsys-tarfile $${p}_$(OB_DEB_VERSION)_*.deb | tar -xO ./usr/bin/$$p | \
	        sha256sum | sed "s|-\$$|/usr/bin/$$p|" >>SHA256SUMS; done
	@ls -l $(BUILD)/debs && cat $(BUILD)/debs/SHA256SUMS

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)
