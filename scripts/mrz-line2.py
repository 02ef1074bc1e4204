#!/usr/bin/env python3
"""An independent TD3 line-2 calculator (Doc 9303 Part 3 §4.9), used to compute the expected
lines in tests/fixtures.rs without the station's own code.

Usage: scripts/mrz-line2.py NUMBER NATIONALITY YYMMDD(BIRTH) SEX YYMMDD(EXPIRY) [PERSONAL_NUMBER]
"""
import sys


def value(c: str) -> int:
    if c.isdigit():
        return int(c)
    if c == "<":
        return 0
    return ord(c) - ord("A") + 10


def check(s: str) -> str:
    return str(sum(value(c) * (7, 3, 1)[i % 3] for i, c in enumerate(s)) % 10)


def line2(number, nationality, birth, sex, expiry, personal=""):
    number, personal = number.ljust(9, "<"), personal.ljust(14, "<")
    personal_check = "0" if personal == "<" * 14 else check(personal)
    body = number + check(number) + nationality + birth + check(birth) + sex + expiry + check(expiry)
    body += personal + personal_check
    return body + check(body[0:10] + body[13:20] + body[21:43])


if __name__ == "__main__":
    print(line2(*sys.argv[1:]))
