"""The condition keys AWS may leave out of a request: the global keys and the keys of the services used here.

From "AWS global condition context keys" (IAM User Guide) and the Service Authorization Reference pages of
AWS KMS, Amazon SNS, AWS Lambda, Amazon DynamoDB, AWS STS, IAM and CloudWatch (Amazon SQS defines no keys of its
own). A condition on a key in neither these lists nor the request is treated as unknown (see conditions.py).
"""

from __future__ import annotations


def _keys(names: str) -> frozenset[str]:
    return frozenset(names.lower().split())


GLOBAL_KEYS = _keys("""
aws:CalledVia aws:CalledViaFirst aws:CalledViaLast aws:CurrentTime aws:EpochTime aws:FederatedProvider
aws:MultiFactorAuthAge aws:MultiFactorAuthPresent aws:PrincipalAccount aws:PrincipalArn aws:PrincipalIsAWSService
aws:PrincipalOrgID aws:PrincipalOrgPaths aws:PrincipalServiceName aws:PrincipalServiceNamesList aws:PrincipalType
aws:Referer aws:RequestedRegion aws:ResourceAccount aws:ResourceOrgID aws:ResourceOrgPaths aws:SecureTransport
aws:SourceAccount aws:SourceArn aws:SourceIdentity aws:SourceOwner aws:SourceIp aws:SourceOrgID aws:SourceOrgPaths
aws:SourceVpc
aws:SourceVpce aws:SourceVpcArn aws:TagKeys aws:TokenIssueTime aws:UserAgent aws:userid aws:username
aws:ViaAWSService aws:VpcSourceIp aws:Ec2InstanceSourceVpc aws:Ec2InstanceSourcePrivateIPv4 aws:AssumedRoot
""")
SERVICE_KEYS = _keys("""
kms:BypassPolicyLockoutSafetyCheck kms:CallerAccount kms:CustomerMasterKeySpec kms:CustomerMasterKeyUsage
kms:DataKeyPairSpec kms:EncryptionAlgorithm kms:EncryptionContextKeys kms:ExpirationModel kms:GrantConstraintType
kms:GrantIsForAWSResource kms:GrantOperations kms:GranteePrincipal kms:KeyAgreementAlgorithm kms:KeyOrigin
kms:KeySpec kms:KeyUsage kms:MacAlgorithm kms:MessageType kms:MultiRegion kms:MultiRegionKeyType
kms:PrimaryRegion kms:ReEncryptOnSameKey kms:ReplicaRegion kms:RequestAlias kms:ResourceAliases
kms:RetiringPrincipal kms:RotationPeriodInDays kms:ScheduleKeyDeletionPendingWindowInDays kms:SigningAlgorithm
kms:ValidTo kms:ViaService kms:WrappingAlgorithm kms:WrappingKeySpec
sns:Endpoint sns:Protocol
lambda:CodeSigningConfigArn lambda:EventSourceToken lambda:FunctionArn lambda:FunctionUrlAuthType lambda:Layer
lambda:Principal lambda:SecurityGroupIds lambda:SourceFunctionArn lambda:SubnetIds lambda:VpcIds
dynamodb:Attributes dynamodb:EnclosingOperation dynamodb:FullTableScan dynamodb:LeadingKeys
dynamodb:ReturnConsumedCapacity dynamodb:ReturnValues dynamodb:Select
sts:AWSServiceName sts:DurationSeconds sts:ExternalId sts:RoleSessionName sts:SourceIdentity sts:TransitiveTagKeys
iam:AWSServiceName iam:PassedToService iam:PermissionsBoundary iam:PolicyARN iam:AssociatedResourceArn
cloudwatch:namespace cloudwatch:requestInsightRuleLogGroups
""")
KNOWN_KEYS = GLOBAL_KEYS | SERVICE_KEYS
# Key families whose last part is chosen by the policy author: tags and KMS encryption context.
KNOWN_PREFIXES = ("aws:requesttag/", "aws:resourcetag/", "aws:principaltag/", "kms:encryptioncontext:",
                  "iam:resourcetag/")
TIME_KEYS = frozenset({"aws:currenttime", "aws:epochtime"})


def is_known_key(key: str) -> bool:
    key = key.lower()
    return key in KNOWN_KEYS or key.startswith(KNOWN_PREFIXES)

