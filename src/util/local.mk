# src/util: sources and tests of this subsystem (included by Makefile.am).
# Logging and quiescent-state reclamation: used by the I/O edge only.
libraftlb_io_a_SOURCES += \
	src/util/log.c src/util/log.h \
	src/util/qsbr.c src/util/qsbr.h
