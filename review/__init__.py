"""Review of a synthesized cloud assembly (cdk.out): what a reviewer of a pull request needs.

Everything is read from what synth wrote (templates, construct paths, cdk-nag's validation report),
never from cdk.json, so the review shows what would be deployed. Plain functions; the command line
is scripts/review.py (`make review`, `wildrydes review`).
"""
