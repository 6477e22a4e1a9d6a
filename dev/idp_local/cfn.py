"""Read template.yaml (CloudFormation short tags included) so the local stack builds what it describes."""
from __future__ import annotations

from pathlib import Path

import yaml


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, tag_suffix, node):
    name = "Fn::GetAtt" if tag_suffix == "GetAtt" else ("Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}")
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: str | Path) -> dict:
    """The template as plain data; intrinsic functions stay as {"Ref": ...} / {"Fn::...": ...}."""
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # SafeLoader subclass


def resources_of_type(template: dict, cfn_type: str) -> dict[str, dict]:
    return {name: res for name, res in template.get("Resources", {}).items() if res.get("Type") == cfn_type}


def resolve(value, refs: dict[str, str], attrs: dict[tuple[str, str], str], stack_name: str):
    """Resolve the intrinsics the local stack needs (Ref, GetAtt, Sub, Join) against local values."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return {"AWS::StackName": stack_name, "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}.get(arg, refs.get(arg, arg))
        if key == "Fn::GetAtt":
            return attrs.get((arg[0], arg[1]), "")
        if key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            text = text.replace("${AWS::StackName}", stack_name).replace("${AWS::Region}", "us-east-1")
            for name, ref in refs.items():
                text = text.replace("${" + name + "}", ref)
            return text
        if key == "Fn::Join":
            return arg[0].join(str(resolve(v, refs, attrs, stack_name)) for v in arg[1])
    if isinstance(value, dict):
        return {k: resolve(v, refs, attrs, stack_name) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs, attrs, stack_name) for v in value]
    return value
