"""A small CloudFormation evaluator for tests: picks the concrete template a set of parameter
values produces (conditions decided, `Fn::If` branches chosen, `AWS::NoValue` removed, resources
whose condition is false dropped). References to resources stay symbolic so tests can assert
*which* resource a policy points at:

    {"Ref": "AgoraSecret"}              -> "Ref:AgoraSecret"
    {"Fn::GetAtt": ["T", "Arn"]}        -> "GetAtt:T.Arn"
    {"Ref": "SomeParameter"}            -> the parameter's value
    {"Fn::Sub": "..."}                  -> "Sub:..." (the raw pattern; the variables of the list
                                           form substituted, and no "Sub:" once none is left)
    {"Fn::FindInMap": [...]}, {"Fn::Select": [...]} -> the value they pick
"""

from __future__ import annotations

from typing import Any

NOVALUE = object()


class Evaluated:
    """The concrete view of a (transformed) template under given parameter values."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, Any] | None = None):
        self.template = template
        self.params: dict[str, Any] = {
            k: v.get("Default") for k, v in template.get("Parameters", {}).items()
        }
        for k, v in (overrides or {}).items():
            if k not in self.params:
                raise KeyError(f"unknown parameter {k}")
            self.params[k] = v
        self.params.update({"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012",
                            "AWS::Partition": "aws", "AWS::StackName": "rtc-tokens",
                            "AWS::URLSuffix": "amazonaws.com"})
        self._conds_src = template.get("Conditions", {})
        self.conditions: dict[str, bool] = {}
        for name in self._conds_src:
            self.condition(name)
        self.resources: dict[str, dict[str, Any]] = {}
        for name, res in template.get("Resources", {}).items():
            cond = res.get("Condition")
            if cond is not None and not self.condition(cond):
                continue
            self.resources[name] = self.value(res)

    # ------------------------------------------------------------------ conditions
    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = self._cond(self._conds_src[name])
        return self.conditions[name]

    def _cond(self, node: Any) -> bool:
        if not isinstance(node, dict) or len(node) != 1:
            raise ValueError(f"bad condition {node!r}")
        (fn, args), = node.items()
        if fn == "Condition":
            return self.condition(args)
        if fn == "Fn::Not":
            return not self._cond(args[0])
        if fn == "Fn::And":
            return all(self._cond(a) for a in args)
        if fn == "Fn::Or":
            return any(self._cond(a) for a in args)
        if fn == "Fn::Contains":  # Rules only
            return str(self.value(args[1])) in [str(x) for x in self.value(args[0])]
        if fn == "Fn::Equals":
            a, b = (self.value(x) for x in args)
            return str(a) == str(b)
        raise ValueError(f"unsupported condition function {fn}")

    # ------------------------------------------------------------------ values
    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            out = [self.value(x) for x in node]
            return [x for x in out if x is not NOVALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (k, v), = node.items()
            if k == "Ref":
                if v == "AWS::NoValue":
                    return NOVALUE
                if v in self.params:
                    return self.params[v]
                return f"Ref:{v}"
            if k == "Fn::If":
                cond, yes, no = v
                return self.value(yes if self.condition(cond) else no)
            if k == "Fn::GetAtt":
                parts = v if isinstance(v, list) else v.split(".", 1)
                return f"GetAtt:{parts[0]}.{parts[1]}"
            if k == "Fn::Sub":
                if isinstance(v, str):
                    return f"Sub:{v}"
                pattern = v[0]
                for name, val in v[1].items():
                    val = self.value(val)
                    if isinstance(val, str) and not val.startswith(("Ref:", "GetAtt:", "Sub:")):
                        pattern = pattern.replace("${" + name + "}", val)
                return pattern if "${" not in pattern else f"Sub:{pattern}"
            if k == "Fn::FindInMap":
                name, top, second = (self.value(x) for x in v)
                return self.template["Mappings"][name][top][second]
            if k == "Fn::Select":
                index, items = self.value(v[0]), self.value(v[1])
                return items[int(index)] if isinstance(items, list) else f"Select:{items}"
            if k == "Fn::Split":
                sep, s = v
                s = self.value(s)
                return s.split(sep) if isinstance(s, str) else f"Split:{s}"
            if k == "Fn::Join":
                sep, items = v
                items = self.value(items)
                return sep.join(str(i) for i in items) if isinstance(items, list) else f"Join:{items}"
        out = {}
        for k, v in node.items():
            val = self.value(v)
            if val is not NOVALUE:
                out[k] = val
        return out

    # ------------------------------------------------------------------ helpers
    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == rtype}


def as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]
