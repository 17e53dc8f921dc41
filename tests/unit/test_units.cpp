// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "ridgeline/units.hpp"

using namespace ridgeline;

TEST_CASE("bits and bytes are not confused", "[units]") {
  CHECK(parse_quantity("400 Gb/s", Dimension::bytes_per_s) == Approx(50e9));
  CHECK(parse_quantity("400 Gbps", Dimension::bytes_per_s) == Approx(50e9));
  CHECK(parse_quantity("900 GB/s", Dimension::bytes_per_s) == Approx(900e9));
  CHECK(parse_quantity("3.35 TB/s", Dimension::bytes_per_s) == Approx(3.35e12));
}

TEST_CASE("binary and decimal prefixes", "[units]") {
  CHECK(parse_quantity("1 GiB", Dimension::bytes) == 1073741824.0);
  CHECK(parse_quantity("80 GB", Dimension::bytes) == Approx(80e9));
  CHECK(parse_quantity("1KiB", Dimension::bytes) == 1024.0);
}

TEST_CASE("compute, time, plain numbers", "[units]") {
  CHECK(parse_quantity("989 TFLOPS", Dimension::flops_per_s) == Approx(989e12));
  CHECK(parse_quantity("1979 TOPS", Dimension::flops_per_s) == Approx(1979e12));
  CHECK(parse_quantity("10 us", Dimension::seconds) == Approx(10e-6));
  CHECK(parse_quantity("50 ms", Dimension::seconds) == Approx(0.05));
  CHECK(parse_quantity("1.5e3", Dimension::count) == 1500.0);
  CHECK(parse_quantity(" 2e-6 s ", Dimension::seconds) == Approx(2e-6));
}

TEST_CASE("wrong or unknown units are errors", "[units]") {
  CHECK_THROWS_WITH(parse_quantity("400 GB", Dimension::bytes_per_s), Catch::Contains("wrong kind"));
  CHECK_THROWS_WITH(parse_quantity("80 GB/s", Dimension::bytes), Catch::Contains("wrong kind"));
  CHECK_THROWS_WITH(parse_quantity("3 furlongs", Dimension::seconds), Catch::Contains("unknown unit"));
  CHECK_THROWS_AS(parse_quantity("fast", Dimension::seconds), ConfigError);
  CHECK_THROWS_AS(parse_quantity("", Dimension::seconds), ConfigError);
  CHECK_THROWS_AS(parse_quantity("nan GB", Dimension::bytes), ConfigError);
  CHECK_THROWS_AS(parse_quantity("inf", Dimension::bytes), ConfigError);
}
