// doctest_main.cpp — the doctest runner shared by the core and app suites.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
