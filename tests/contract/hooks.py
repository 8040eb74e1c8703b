"""Schemathesis hooks for `make test-contract` (loaded through SCHEMATHESIS_HOOKS).

Two built-in checks are narrowed, each for a limitation of OpenAPI 3.0 rather than of the server
(typespec/README.md lists the rules the document cannot state):

* `positive_data_acceptance`: a request that satisfies every schema can still be rightly refused
  with 400 when it breaks such a rule. The variant accepts that 400 only when every problem the
  server names is one of those rules; any other refusal of valid data still fails.
* `negative_data_rejection`: the server reads a query as the spec (docs/spec.md) says: a blank value counts as
  absent and a repeated parameter uses its first occurrence (§2.7), and `size` is read only when
  `pageSize` is absent or blank, and paging values are trimmed (§6.1). OpenAPI 3.0 can state
  none of this, so `?size=&page=`
  looks invalid to the tool. The variant lets an invalid query pass only when the query as the
  server reads it is valid; every other accepted invalid request still fails.
"""

from __future__ import annotations

import re

import schemathesis
from schemathesis.core.parameters import ParameterLocation, plain_str_values

# Private helpers of the pinned schemathesis (tests/contract/requirements.txt): the query as sent.
from schemathesis.specs.openapi.checks import (
    _query_as_sent,
    _sent_query_values,
    negative_data_rejection,
    positive_data_acceptance,
)

# Rust's `str::trim` (Unicode White_Space), which the server applies to query values.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
# Parameters whose value the server trims before reading it (§6.1, and `after_id`).
TRIMMED = {"page", "pageSize", "size", "after_id"}
OTHER_LOCATIONS = (ParameterLocation.BODY, ParameterLocation.PATH, ParameterLocation.HEADER, ParameterLocation.COOKIE)

# hyperfleet-8 details that no OpenAPI 3.0 schema can rule out.
UNEXPRESSIBLE_CONTENT = re.compile(
    r"label key '.*' is invalid: must be a Kubernetes label key"  # map keys: no propertyNames
    r"|(spec|data|metadata) must not contain the NUL character"  # at any depth, also in keys
    r"|adapter must equal the report's adapter"  # a rule across two members
    r"|type '.*' is duplicated"  # uniqueness of one member across array items
    r"|request body must contain at least one of: spec, labels",  # `{"labels": null}` alone
    re.DOTALL,
)
# hyperfleet-21 reasons about the other list parameters, whose rules the document does state.
EXPRESSIBLE_QUERY = re.compile(r"^(page|pageSize|size|order|orderBy) |^bad order value ")
COMBINED_WITH_AFTER_ID = re.compile(r"^(orderBy|page) cannot be combined with after_id$")


def _refused_for_an_unexpressible_rule(case, response) -> bool:
    if response.status_code != 400:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    if body.get("code") == "hyperfleet-8":
        details = body.get("details") or []
        return bool(details) and all(UNEXPRESSIBLE_CONTENT.search(d.get("error", "")) for d in details)
    if body.get("code") == "hyperfleet-21":
        # A rule across two parameters: `after_id` with `orderBy`, or with a page past the first.
        if COMBINED_WITH_AFTER_ID.search(body.get("reason", "")):
            return bool(str((case.query or {}).get("after_id") or "").strip(WHITESPACE))
        # The search grammar (§6.3) is beyond a pattern: any search error of a request with a search.
        search = (case.query or {}).get("search")
        return bool(str(search or "").strip(WHITESPACE)) and not EXPRESSIBLE_QUERY.search(body.get("reason", ""))
    return False


@schemathesis.check
def positive_data_acceptance_within_openapi(ctx, response, case):
    """`positive_data_acceptance`, except for 400s that only name rules OpenAPI cannot state."""
    if _refused_for_an_unexpressible_rule(case, response):
        return None
    return positive_data_acceptance(ctx, response, case)


def _valid_as_the_server_reads_it(case, response) -> bool:
    """Whether an invalid query is valid once read by spec §2.7 (first occurrence wins, a
    blank value is absent) and §6.1 (paging values are trimmed; `size` is ignored next to
    `pageSize`)."""
    meta = case.meta
    if meta is None or not meta.is_negative_at(ParameterLocation.QUERY):
        return False
    if any(meta.is_negative_at(location) for location in OTHER_LOCATIONS):
        return False
    sent = _sent_query_values(response, case)
    if sent is None:
        return False
    read = {name: values[0] for name, values in sent.items() if values and values[0].strip(WHITESPACE)}
    for name in TRIMMED & read.keys():
        read[name] = read[name].strip(WHITESPACE)
    if "pageSize" in read:
        read.pop("size", None)
    query = {name: value for name, value in (case.query or {}).items() if name in read}
    container = case.operation.get_parameter_set(ParameterLocation.QUERY)
    as_sent = _query_as_sent(response, case, query, container.schema.get("properties", {}))
    if as_sent is None:
        return False
    as_sent = {name: _as_read(name, read[name]) if isinstance(value, str) else value for name, value in as_sent.items()}
    return container.get_strict_validator().is_valid(plain_str_values(as_sent))


def _as_read(name: str, text: str):
    """A paging value as the server reads it: ASCII digits are a number."""
    if name in TRIMMED and text.isascii() and text.isdigit():
        return int(text)
    return text


@schemathesis.check
def negative_data_rejection_within_openapi(ctx, response, case):
    """`negative_data_rejection`, except for a query the server rightly reads as valid."""
    if _valid_as_the_server_reads_it(case, response):
        return None
    return negative_data_rejection(ctx, response, case)
