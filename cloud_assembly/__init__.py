"""The cloud assembly `cdk synth` writes (cdk.out), read one way for the whole project.

The local cloud deploys it, the review reads it, the operations tools plan and preflight from it: each
reads the manifest, the templates, the assets and the construct paths through `load_assembly`, follows
Ref / Fn::GetAtt / Fn::Sub through `references`, resolves intrinsics through `Resolver`, and asks
`changed_since_synth` whether cdk.out is stale. A leaf: it imports nothing of the project.
"""

from cloud_assembly.manifest import Assembly, AssemblyError, FileAsset, Stack, load_assembly
from cloud_assembly.references import references, target
from cloud_assembly.resolver import BOOTSTRAP_VERSION_PARAMETER, Resolver, UnresolvableError, as_json_string
from cloud_assembly.staleness import ROOT, SYNTH_INPUTS, changed_since_synth

__all__ = ["BOOTSTRAP_VERSION_PARAMETER", "ROOT", "SYNTH_INPUTS", "Assembly", "AssemblyError", "FileAsset", "Resolver",
           "Stack", "UnresolvableError", "as_json_string", "changed_since_synth", "load_assembly", "references",
           "target"]
