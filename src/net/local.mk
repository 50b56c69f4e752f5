# src/net: sources and tests of this subsystem (included by Makefile.am).
