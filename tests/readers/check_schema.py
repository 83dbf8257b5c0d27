"""`simkit schema` checked by a real JSON Schema validator (jsonschema, draft
2020-12): the schema is itself valid, every scenario file given is accepted,
and documents broken in known ways (an unknown key, a misspelt nested key, a
value of the wrong kind, a missing required key, an unknown kind) are refused.

    python check_schema.py SCHEMA.json SCENARIO.toml...
"""

import copy
import json
import sys
import tomllib

from jsonschema import Draft202012Validator


def broken(doc):
    """(what, document) pairs, each wrong in one known way."""
    cases = []
    d = copy.deepcopy(doc)
    d["colour"] = "red"
    cases.append(("unknown top-level key", d))
    d = copy.deepcopy(doc)
    d["seed"] = "forty-two"
    cases.append(("seed as a string", d))
    d = copy.deepcopy(doc)
    del d["seed"]
    cases.append(("no seed", d))
    d = copy.deepcopy(doc)
    d["kind"] = "wether"
    cases.append(("unknown kind", d))
    d = copy.deepcopy(doc)
    d["time"]["dayz"] = 3
    cases.append(("misspelt time.days", d))
    d = copy.deepcopy(doc)
    d["time"]["days"] = 2.5
    cases.append(("fractional days", d))
    return cases


def main():
    schema = json.load(open(sys.argv[1]))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    accepted = rejected = 0
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        errors = [e.message for e in validator.iter_errors(doc)]
        assert not errors, f"{path}: refused: {errors[:3]}"
        accepted += 1
        for what, bad in broken(doc):
            assert list(validator.iter_errors(bad)), f"{path}: {what}: accepted"
            rejected += 1
    print(f"schema: {accepted} scenario files accepted, {rejected} broken documents refused")


if __name__ == "__main__":
    main()
