"""The fictional organisation behind the sample billing data.

Everything here is static reference data: payer and linked accounts, teams,
the services (usage types with public on-demand rates), the commitments
(Savings Plans, Reserved Instances) and the messy tag vocabulary.  The row
generator in :mod:`line_items` samples from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ORG_SLUG = "acme"


@dataclass(frozen=True)
class Team:
    name: str
    product: str
    cost_center: str
    owner: str
    business_unit: str


TEAMS: tuple[Team, ...] = (
    Team("checkout", "storefront", "CC-1001", "checkout-team@acme.example", "Commerce"),
    Team("search", "storefront", "CC-1002", "search-team@acme.example", "Commerce"),
    Team("payments", "payments", "CC-1003", "payments-team@acme.example", "Commerce"),
    Team("data-platform", "data-lake", "CC-2001", "data-platform@acme.example", "Data"),
    Team("ml-inference", "recommendations", "CC-2002", "ml-team@acme.example", "Data"),
    Team("analytics", "insights", "CC-2003", "analytics@acme.example", "Data"),
    Team("mobile-api", "mobile-app", "CC-1004", "mobile@acme.example", "Commerce"),
    Team("identity", "accounts", "CC-3001", "identity@acme.example", "Platform"),
    Team("growth", "marketing-site", "CC-1005", "growth@acme.example", "Commerce"),
    Team("platform", "shared-infrastructure", "CC-3002", "platform@acme.example", "Platform"),
    Team("security", "security", "CC-3003", "security@acme.example", "Platform"),
    Team("customer-support", "helpdesk", "CC-4001", "support-eng@acme.example", "Operations"),
)
TEAM_INDEX = {t.name: i for i, t in enumerate(TEAMS)}


@dataclass(frozen=True)
class Payer:
    role: str
    account_id: str
    name: str
    invoicing_entity: str
    tax_rate: float  # share of the month's usage billed as Tax


PAYERS: dict[str, Payer] = {
    "payer-a": Payer("payer-a", "111122223333", "acme-management", "Amazon Web Services, Inc.", 0.0),
    "payer-b": Payer("payer-b", "444455556666", "acme-data-management", "Amazon Web Services EMEA SARL", 0.02),
}


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    payer: str  # payer role
    team: str  # the account's default owner (for allocation by account)
    environment: str  # prod / staging / dev / sandbox / shared
    weight: float  # share of the payer's resources
    tag_rate: float  # probability that a resource in it carries a team tag
    shared: bool = False  # a shared-cost account (networking, security, ...)


ACCOUNTS: tuple[Account, ...] = (
    # payer-a: the commerce side of the business
    Account("210987654301", "checkout-prod", "payer-a", "checkout", "prod", 10, 0.93),
    Account("210987654302", "checkout-staging", "payer-a", "checkout", "staging", 2.5, 0.85),
    Account("210987654303", "checkout-dev", "payer-a", "checkout", "dev", 2, 0.7),
    Account("210987654304", "search-prod", "payer-a", "search", "prod", 7, 0.9),
    Account("210987654305", "search-dev", "payer-a", "search", "dev", 1.5, 0.6),
    Account("210987654306", "payments-prod", "payer-a", "payments", "prod", 6, 0.95),
    Account("210987654307", "payments-staging", "payer-a", "payments", "staging", 1.5, 0.9),
    Account("210987654308", "identity-prod", "payer-a", "identity", "prod", 3, 0.9),
    Account("210987654309", "mobile-api-prod", "payer-a", "mobile-api", "prod", 5, 0.85),
    Account("210987654310", "mobile-api-dev", "payer-a", "mobile-api", "dev", 1.2, 0.55),
    Account("210987654311", "growth-prod", "payer-a", "growth", "prod", 2.5, 0.8),
    Account("210987654312", "customer-support-prod", "payer-a", "customer-support", "prod", 1.5, 0.75),
    Account("210987654313", "shared-networking", "payer-a", "platform", "shared", 5, 0.05, True),
    Account("210987654314", "security-tooling", "payer-a", "security", "shared", 2, 0.6, True),
    Account("210987654315", "sandbox-alice", "payer-a", "platform", "sandbox", 0.6, 0.05),
    Account("210987654316", "sandbox-bob", "payer-a", "growth", "sandbox", 0.4, 0.1),
    # payer-b: data and ML
    Account("310987654301", "data-platform-prod", "payer-b", "data-platform", "prod", 10, 0.85),
    Account("310987654302", "data-platform-dev", "payer-b", "data-platform", "dev", 2.5, 0.6),
    Account("310987654303", "ml-inference-prod", "payer-b", "ml-inference", "prod", 8, 0.9),
    Account("310987654304", "ml-inference-staging", "payer-b", "ml-inference", "staging", 2, 0.8),
    Account("310987654305", "analytics-prod", "payer-b", "analytics", "prod", 4, 0.85),
    Account("310987654306", "analytics-dev", "payer-b", "analytics", "dev", 1, 0.5),
    Account("310987654307", "platform-prod", "payer-b", "platform", "prod", 4, 0.8),
    Account("310987654308", "platform-staging", "payer-b", "platform", "staging", 1, 0.7),
    Account("310987654309", "shared-services", "payer-b", "platform", "shared", 3, 0.1, True),
    Account("310987654310", "log-archive", "payer-b", "security", "shared", 1.5, 0.3, True),
    Account("310987654311", "sandbox-carol", "payer-b", "data-platform", "sandbox", 0.6, 0.05),
    Account("310987654312", "sandbox-dave", "payer-b", "ml-inference", "sandbox", 0.4, 0.05),
)

REGIONS: dict[str, tuple[str, str, float]] = {
    # region code: (usage type prefix, location name, price multiplier)
    "us-east-1": ("", "US East (N. Virginia)", 1.0),
    "us-west-2": ("USW2-", "US West (Oregon)", 1.0),
    "eu-west-1": ("EU-", "EU (Ireland)", 1.1),
    "eu-central-1": ("EUC1-", "EU (Frankfurt)", 1.15),
    "ap-southeast-2": ("APS2-", "Asia Pacific (Sydney)", 1.2),
}
PAYER_REGIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "payer-a": (("us-east-1", 0.6), ("us-west-2", 0.15), ("eu-west-1", 0.2), ("ap-southeast-2", 0.05)),
    "payer-b": (("eu-west-1", 0.55), ("eu-central-1", 0.25), ("us-east-1", 0.2)),
}


@dataclass(frozen=True)
class UsageSpec:
    """One kind of usage line: a product's usage type, with its public rate."""

    product_code: str
    servicecode: str
    service_name: str  # product name, FOCUS ServiceName
    category: str  # FOCUS ServiceCategory
    product_family: str
    usage_type: str  # without the region prefix
    operation: str
    unit: str
    rate: float  # public on-demand USD per unit (us-east-1)
    amount: float  # mean usage amount per hourly line
    rows: float  # relative number of hourly lines
    resource: str  # resource id kind (see line_items._resource_id)
    instance_type: str = ""
    sp: str = ""  # "" / "compute" (Compute SP eligible)
    global_service: bool = False
    network: bool = False  # mostly lives in the shared networking account
    only_teams: tuple[str, ...] = ()
    description: str = ""


def _ec2(itype: str, rate: float, rows: float, only: tuple[str, ...] = ()) -> UsageSpec:
    return UsageSpec(
        "AmazonEC2", "AmazonEC2", "Amazon Elastic Compute Cloud", "Compute", "Compute Instance",
        f"BoxUsage:{itype}", "RunInstances", "Hrs", rate, 1.0, rows, "instance", itype, "compute",
        only_teams=only,
        description=f"${rate} per On Demand Linux {itype} Instance Hour",
    )


def _rds(itype: str, rate: float, rows: float, multi_az: bool = False) -> UsageSpec:
    prefix = "Multi-AZUsage" if multi_az else "InstanceUsage"
    return UsageSpec(
        "AmazonRDS", "AmazonRDS", "Amazon Relational Database Service", "Databases", "Database Instance",
        f"{prefix}:{itype}", "CreateDBInstance:0014", "Hrs", rate, 1.0, rows, "rds", itype,
        description=f"${rate} per RDS {itype} instance hour (or partial hour) running PostgreSQL",
    )


SPECS: tuple[UsageSpec, ...] = (
    _ec2("m5.xlarge", 0.192, 9),
    _ec2("m5.2xlarge", 0.384, 6),
    _ec2("c5.2xlarge", 0.34, 6),
    _ec2("r5.xlarge", 0.252, 4),
    _ec2("c6i.4xlarge", 0.68, 3),
    _ec2("m6g.large", 0.077, 6),
    _ec2("t3.medium", 0.0416, 8),
    _ec2("g5.xlarge", 1.006, 2.5, ("ml-inference",)),
    UsageSpec("AmazonEC2", "AmazonEC2", "Amazon Elastic Compute Cloud", "Storage", "Storage",
              "EBS:VolumeUsage.gp3", "CreateVolume-Gp3", "GB-Mo", 0.08, 0.55, 12, "volume",
              description="$0.08 per GB-month of General Purpose (gp3) provisioned storage"),
    UsageSpec("AmazonEC2", "AmazonEC2", "Amazon Elastic Compute Cloud", "Networking", "NAT Gateway",
              "NatGateway-Hours", "NatGateway", "Hrs", 0.045, 1.0, 3, "natgateway", network=True,
              description="$0.045 per NAT Gateway Hour"),
    UsageSpec("AmazonEC2", "AmazonEC2", "Amazon Elastic Compute Cloud", "Networking", "NAT Gateway",
              "NatGateway-Bytes", "NatGateway", "GB", 0.045, 9.0, 3, "natgateway", network=True,
              description="$0.045 per GB Data Processed by NAT Gateways"),
    _rds("db.r6g.xlarge", 0.478, 4),
    _rds("db.m6g.large", 0.304, 3, multi_az=True),
    UsageSpec("AmazonRDS", "AmazonRDS", "Amazon Relational Database Service", "Storage", "Database Storage",
              "RDS:GP3-Storage", "CreateDBInstance:0014", "GB-Mo", 0.115, 0.7, 4, "rds",
              description="$0.115 per GB-month of provisioned GP3 storage running PostgreSQL"),
    UsageSpec("AmazonS3", "AmazonS3", "Amazon Simple Storage Service", "Storage", "Storage",
              "TimedStorage-ByteHrs", "StandardStorage", "GB-Mo", 0.023, 40.0, 6, "bucket",
              description="$0.023 per GB - first 50 TB / month of storage used"),
    UsageSpec("AmazonS3", "AmazonS3", "Amazon Simple Storage Service", "Storage", "API Request",
              "Requests-Tier1", "PutObject", "Requests", 0.000005, 9000.0, 4, "bucket",
              description="$0.005 per 1,000 PUT, COPY, POST, or LIST requests"),
    UsageSpec("AmazonEKS", "AmazonEKS", "Amazon Elastic Container Service for Kubernetes", "Compute",
              "Compute", "AmazonEKS-Hours:perCluster", "CreateOperation", "Hours", 0.10, 1.0, 2, "eks",
              description="Amazon EKS cluster usage"),
    UsageSpec("AmazonECS", "AmazonECS", "Amazon Elastic Container Service", "Compute", "Compute",
              "Fargate-vCPU-Hours:perCPU", "FargateTask", "hours", 0.04048, 4.0, 3, "ecs", sp="compute",
              description="AWS Fargate - vCPU - US East (N.Virginia)"),
    UsageSpec("AmazonCloudFront", "AmazonCloudFront", "Amazon CloudFront", "Networking", "Data Transfer",
              "US-DataTransfer-Out-Bytes", "GET", "GB", 0.085, 25.0, 2, "cloudfront", global_service=True,
              description="$0.085 per GB - first 10 TB / month data transfer out beyond the global free tier"),
    UsageSpec("AWSLambda", "AWSLambda", "AWS Lambda", "Compute", "Serverless",
              "Lambda-GB-Second", "Invoke", "Lambda-GB-Second", 0.0000166667, 9000.0, 5, "lambda", sp="compute",
              description="AWS Lambda - Total Compute - US East (N. Virginia)"),
    UsageSpec("AWSLambda", "AWSLambda", "AWS Lambda", "Compute", "Serverless",
              "Request", "Invoke", "Requests", 0.0000002, 30000.0, 3, "lambda",
              description="AWS Lambda - Total Requests - US East (N. Virginia)"),
    UsageSpec("AmazonDynamoDB", "AmazonDynamoDB", "Amazon DynamoDB", "Databases", "Amazon DynamoDB PayPerRequest Throughput",
              "WriteRequestUnits", "PayPerRequestThroughput", "WriteRequestUnits", 0.00000125, 60000.0, 3, "dynamodb",
              description="$1.25 per million write request units"),
    UsageSpec("AmazonDynamoDB", "AmazonDynamoDB", "Amazon DynamoDB", "Storage", "Database Storage",
              "TimedStorage-ByteHrs", "StandardStorage", "GB-Mo", 0.25, 2.0, 2, "dynamodb",
              description="$0.25 per GB-Month of storage used beyond first 25 free GB-Months"),
    UsageSpec("AmazonElastiCache", "AmazonElastiCache", "Amazon ElastiCache", "Databases", "Cache Instance",
              "NodeUsage:cache.r6g.large", "CreateCacheCluster:0002", "Hrs", 0.206, 1.0, 2, "elasticache",
              "cache.r6g.large", description="$0.206 per Cache Node Hour running Redis"),
    UsageSpec("AWSELB", "AWSELB", "Elastic Load Balancing", "Networking", "Load Balancer-Application",
              "LoadBalancerUsage", "LoadBalancing:Application", "Hrs", 0.0225, 1.0, 3, "alb",
              description="$0.0225 per Application LoadBalancer-hour (or partial hour)"),
    UsageSpec("AWSDataTransfer", "AWSDataTransfer", "AWS Data Transfer", "Networking", "Data Transfer",
              "DataTransfer-Out-Bytes", "", "GB", 0.09, 3.0, 4, "none", network=True,
              description="$0.090 per GB - first 10 TB / month data transfer out beyond the global free tier"),
    UsageSpec("AWSDataTransfer", "AWSDataTransfer", "AWS Data Transfer", "Networking", "Data Transfer",
              "DataTransfer-Regional-Bytes", "InterZone-In", "GB", 0.01, 20.0, 3, "instance",
              description="$0.010 per GB - regional data transfer - in/out/between EC2 AZs or using elastic IPs or ELB"),
    UsageSpec("AmazonVPC", "AmazonVPC", "Amazon Virtual Private Cloud", "Networking", "VpcEndpoint",
              "VpcEndpoint-Hours", "VpcEndpoint", "Hrs", 0.01, 1.0, 2, "vpce", network=True,
              description="$0.01 per VPC Endpoint Hour"),
    UsageSpec("AmazonVPC", "AmazonVPC", "Amazon Virtual Private Cloud", "Networking", "IP Address",
              "PublicIPv4:InUseAddress", "AssociateAddressVPC", "Hrs", 0.005, 1.0, 2, "eip", network=True,
              description="$0.005 per In-use public IPv4 address per hour"),
    UsageSpec("AmazonCloudWatch", "AmazonCloudWatch", "AmazonCloudWatch", "Management and Governance", "Metric",
              "CW:MetricMonitorUsage", "MetricStorage", "Metrics", 0.30 / 730, 40.0, 3, "none",
              description="$0.30 per metric-month - first 10,000 metrics"),
    UsageSpec("AmazonCloudWatch", "AmazonCloudWatch", "AmazonCloudWatch", "Management and Governance", "Data Payload",
              "DataProcessing-Bytes", "PutLogEvents", "GB", 0.50, 0.4, 3, "loggroup",
              description="$0.50 per GB custom log data ingested"),
    UsageSpec("AmazonSQS", "AWSQueueService", "Amazon Simple Queue Service", "Integration", "API Request",
              "Requests-RBP", "SendMessage", "Requests", 0.0000004, 20000.0, 2, "sqs",
              description="$0.40 per million Amazon SQS standard requests in Tier1"),
    UsageSpec("awskms", "awskms", "AWS Key Management Service", "Security", "Encryption Key",
              "KMS-Keys", "CreateKey", "Keys", 1.0 / 730, 1.0, 2, "kms",
              description="$1 per customer-managed KMS key per month"),
    UsageSpec("awskms", "awskms", "AWS Key Management Service", "Security", "API Request",
              "KMS-Requests", "Decrypt", "Requests", 0.000003, 2000.0, 1.5, "kms",
              description="$0.03 per 10,000 requests"),
    UsageSpec("AmazonRoute53", "AmazonRoute53", "Amazon Route 53", "Networking", "DNS Query",
              "DNS-Queries", "Query", "Queries", 0.0000004, 5000.0, 1.5, "route53", global_service=True,
              network=True, description="$0.40 per 1,000,000 queries for the first 1 Billion queries"),
    UsageSpec("AWSSecretsManager", "AWSSecretsManager", "AWS Secrets Manager", "Security", "Secret",
              "AWSSecretsManager-Secrets", "", "Secrets", 0.40 / 730, 1.0, 1.5, "secret",
              description="$0.40 per secret per month"),
)

# ---------------------------------------------------------------- commitments


@dataclass(frozen=True)
class SavingsPlanSpec:
    key: str
    payer: str
    offering_type: str  # ComputeSavingsPlans / EC2InstanceSavingsPlans
    payment_option: str  # No Upfront / Partial Upfront / All Upfront
    term: str  # "1yr" / "3yr"
    discount: float  # SP rate = on-demand rate * (1 - discount)
    commitment_share: float  # commitment = share * expected eligible effective cost per hour
    start: str  # ISO date, or "" = the first generated billing period (bought then)
    region: str = ""
    instance_family: str = ""  # EC2 instance SP only
    upfront_share: float = 0.0  # share of the commitment paid upfront


@dataclass(frozen=True)
class ReservationSpec:
    key: str
    payer: str
    product_code: str
    instance_type: str
    region: str
    term_hours: int
    upfront_per_instance: float
    hourly_recurring: float
    coverage: float  # share of matching instance hours the RI covers
    utilization: float  # share of the reservation used
    start: str  # ISO date, or "" = bought in the first generated period


SAVINGS_PLANS: tuple[SavingsPlanSpec, ...] = (
    SavingsPlanSpec("a-compute", "payer-a", "ComputeSavingsPlans", "No Upfront", "3yr", 0.34, 0.62,
                    "2024-03-01T00:00:00.000Z"),
    SavingsPlanSpec("a-ec2-m5", "payer-a", "EC2InstanceSavingsPlans", "Partial Upfront", "1yr", 0.40, 0.70, "",
                    region="us-east-1", instance_family="m5", upfront_share=0.5),
    SavingsPlanSpec("b-compute", "payer-b", "ComputeSavingsPlans", "No Upfront", "1yr", 0.27, 0.72,
                    "2025-06-01T00:00:00.000Z"),
)

RESERVATIONS: tuple[ReservationSpec, ...] = (
    ReservationSpec("a-c5", "payer-a", "AmazonEC2", "c5.2xlarge", "us-east-1", 8760, 1790.0, 0.0, 0.9, 0.94,
                    "2025-11-14T09:30:00.000Z"),
    ReservationSpec("a-rds", "payer-a", "AmazonRDS", "db.r6g.xlarge", "us-east-1", 8760, 1300.0, 0.148, 0.85, 0.96, ""),
    ReservationSpec("b-rds", "payer-b", "AmazonRDS", "db.r6g.xlarge", "eu-west-1", 26280, 2600.0, 0.10, 0.9, 0.97,
                    "2024-09-02T12:00:00.000Z"),
)

# ------------------------------------------------------------------ tag vocabulary
# CUR 2.0 resource_tags keys (the ``user_`` prefix, then the key exactly as typed).
TEAM_KEYS = (("user_Team", 0.55), ("user_team", 0.30), ("user_TEAM", 0.15))
COST_CENTER_KEYS = (("user_CostCenter", 0.6), ("user_cost-center", 0.4))
ENVIRONMENT_KEYS = (("user_environment", 0.6), ("user_Environment", 0.4))
PRODUCT_KEY = "user_product"
OWNER_KEY = "user_owner"
# A key that someone renamed: in even months the ``user_TEAM`` spelling was fixed to
# ``user_Team``, so legacy CUR schemas differ month to month.
RENAMED_IN_EVEN_MONTHS = {"user_TEAM": "user_Team"}
ALL_TAG_KEYS = tuple(
    [k for k, _ in TEAM_KEYS] + [k for k, _ in COST_CENTER_KEYS] + [k for k, _ in ENVIRONMENT_KEYS]
    + [PRODUCT_KEY, OWNER_KEY]
)
TEAM_TAG_KEYS = tuple(k for k, _ in TEAM_KEYS)

ENV_SPELLINGS = {
    "prod": ("prod", "production", "Prod"),
    "staging": ("staging", "stage", "Staging"),
    "dev": ("dev", "development", "Dev"),
    "sandbox": ("sandbox", "sandbox", "Sandbox"),
    "shared": ("shared", "shared", "Shared"),
}


def team_value_spellings(team: str) -> tuple[str, ...]:
    """The canonical team value, then messy ones (trailing space, upper case)."""
    return (team, team.capitalize() + " ", team.upper())


@dataclass
class Organisation:
    teams: tuple[Team, ...] = TEAMS
    payers: dict[str, Payer] = field(default_factory=lambda: dict(PAYERS))
    accounts: tuple[Account, ...] = ACCOUNTS

    def accounts_of(self, payer_role: str) -> list[Account]:
        return [a for a in self.accounts if a.payer == payer_role]


def account_metadata() -> list[dict[str, str]]:
    """Account metadata rows (e.g. for a dbt seed): id, name, payer, default team, env, cost center."""
    rows = []
    for a in ACCOUNTS:
        team = TEAMS[TEAM_INDEX[a.team]]
        rows.append({
            "account_id": a.account_id, "account_name": a.name, "payer_account_id": PAYERS[a.payer].account_id,
            "default_team": a.team, "environment": a.environment, "cost_center": team.cost_center,
            "business_unit": team.business_unit, "shared": str(a.shared).lower(),
        })
    return rows
