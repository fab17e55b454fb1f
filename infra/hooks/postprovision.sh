#!/bin/sh
# azd postprovision hook (POSIX sh). azd runs it after `azd provision` / `azd up` with the Bicep
# outputs in the environment. It prints the one AWS step azd cannot do (the CloudFormation stack in
# infra/aws/collector-role.yaml) with this environment's values filled in, and how to hand the role
# ARN back to the Function App; then, optionally, the same for an AWS Organization (the hub stack
# with MemberRoleName, the member role StackSet of infra/aws/member-role.yaml). For AWS it only prints:
# it calls neither AWS nor Azure, there is no secret to show, and it never fails the provisioning (it
# always exits 0). First, postprovision-entra.sh grants the Microsoft Graph app roles (when the
# preprovision hook found the deployer may) or prints what an administrator runs.
set -eu

sh "$(dirname "$0")/postprovision-entra.sh" || true

# Whatever goes wrong in here, provisioning has already succeeded: say so and exit 0.
trap 'status=$?
if [ "$status" -ne 0 ]; then
  echo "postprovision: this hook stopped early (exit $status); provisioning is unaffected." >&2
  echo "postprovision: the AWS steps are described at the top of infra/aws/collector-role.yaml." >&2
fi
exit 0' EXIT

template=infra/aws/collector-role.yaml
member_template=infra/aws/member-role.yaml
member_role=crosscloud-identity-monitor-member
required='AZURE_TENANT_ID AWS_FEDERATION_AUDIENCE AZURE_MANAGED_IDENTITY_PRINCIPAL_ID AZURE_KEY_VAULT_NAME AZURE_ENV_NAME'

# Quote a value for copy-and-paste into a POSIX shell, only when it needs it.
quote() {
  case $1 in
    '' | *[!A-Za-z0-9._~:/@%+=,-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf '%s' "$1" ;;
  esac
}

is_guid() {
  printf '%s\n' "$1" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
}

missing=''
for name in $required; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    missing="$missing $name"
    echo "postprovision: $name is not set. It should be an output of infra/main.bicep (azd copies" \
      "outputs into the environment; see \`azd env get-values\`). It is shown as <$name> below."
  fi
done

# A value, or a placeholder naming the missing variable.
value_of() {
  eval "v=\${$1:-}"
  if [ -n "$v" ]; then quote "$v"; else printf '<%s>' "$1"; fi
}

# Tokens carry lower-case GUIDs, and the stack's parameters accept only those.
for name in AZURE_TENANT_ID AZURE_MANAGED_IDENTITY_PRINCIPAL_ID; do
  eval "v=\${$name:-}"
  [ -n "$v" ] || continue
  lower=$(printf '%s' "$v" | tr 'A-F' 'a-f')
  if [ "$lower" != "$v" ]; then
    eval "$name=\$lower"
    v=$lower
  fi
  if ! is_guid "$v"; then
    echo "postprovision: warning: $name ($v) is not a GUID; the stack will reject it."
  fi
done
if [ -n "${AWS_FEDERATION_AUDIENCE:-}" ]; then
  case $AWS_FEDERATION_AUDIENCE in
    api://*) ;;
    *) echo "postprovision: warning: AWS_FEDERATION_AUDIENCE ($AWS_FEDERATION_AUDIENCE) is not an api:// URI; the stack will reject it." ;;
  esac
fi

# CloudFormation stack names allow letters, digits and hyphens only; azd environment names allow more.
if [ -n "${AZURE_ENV_NAME:-}" ]; then
  env_part=$(printf '%s' "$AZURE_ENV_NAME" | tr -c 'A-Za-z0-9-' '-')
else
  env_part='<AZURE_ENV_NAME>'
fi
stack="crosscloud-identity-monitor-$env_part"
tenant=$(value_of AZURE_TENANT_ID)
audience=$(value_of AWS_FEDERATION_AUDIENCE)
principal=$(value_of AZURE_MANAGED_IDENTITY_PRINCIPAL_ID)
vault=$(value_of AZURE_KEY_VAULT_NAME)
query="\"Stacks[0].Outputs[?OutputKey=='CollectorRoleArn'].OutputValue\""

cat <<EOF

AWS side of crosscloud-identity-monitor: one CloudFormation stack (OIDC provider for your Entra
tenant + a read-only collector role). Run these with credentials for the AWS account to inventory.

1. Deploy the stack:

   aws cloudformation deploy --template-file $template --stack-name $stack --capabilities CAPABILITY_NAMED_IAM --parameter-overrides AzureTenantId=$tenant FederationAudience=$audience ManagedIdentityPrincipalId=$principal

   If the account already has the provider https://sts.windows.net/$tenant/ (for example from another
   environment), add to --parameter-overrides:
     CreateOidcProvider=false ExistingOidcProviderArn=arn:aws:iam::<account-id>:oidc-provider/sts.windows.net/$tenant/
   and, for a second environment in the same account, RoleName=crosscloud-identity-monitor-collector-$env_part.
   That provider must list this audience:
     aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn <provider-arn> --client-id $audience

2. Read the role ARN:

   role_arn=\$(aws cloudformation describe-stacks --stack-name $stack --query $query --output text)

3. Store it where the Function App reads it, the Key Vault secret aws-role-arn (this needs a role
   such as Key Vault Secrets Officer on the vault):

   az keyvault secret set --vault-name $vault --name aws-role-arn --value "\$role_arn"

   or let azd store it: azd env set AWS_ROLE_ARN "\$role_arn" && azd provision

EOF

cat <<EOF
For an AWS Organization (optional: every account of it, through a read-only member role in each):

a. Instead of step 1, deploy the stack in the management account (or an Organizations delegated
   administrator account) with MemberRoleName, then do steps 2 and 3 with it. Its role (the hub) may
   then also list the accounts and assume the member role, nothing more.

   aws cloudformation deploy --template-file $template --stack-name $stack --capabilities CAPABILITY_NAMED_IAM --parameter-overrides AzureTenantId=$tenant FederationAudience=$audience ManagedIdentityPrincipalId=$principal MemberRoleName=$member_role

b. Deploy the member role ($member_template) to the accounts of your OUs with a service-managed
   StackSet. <hub-role-arn> is the role ARN of step 2; from a CloudFormation delegated administrator
   account, add --call-as DELEGATED_ADMIN. IAM is global: one Region is enough.

   aws cloudformation create-stack-set --stack-set-name $stack-member --template-body file://$member_template --permission-model SERVICE_MANAGED --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false --capabilities CAPABILITY_NAMED_IAM --parameters ParameterKey=HubRoleArn,ParameterValue=<hub-role-arn> ParameterKey=MemberRoleName,ParameterValue=$member_role
   aws cloudformation create-stack-instances --stack-set-name $stack-member --deployment-targets OrganizationalUnitIds=<ou-id-or-root-id> --regions us-east-1

   StackSets never deploy to the management account: deploy the member role there as a normal stack,
     aws cloudformation deploy --template-file $member_template --stack-name $stack-member --capabilities CAPABILITY_NAMED_IAM --parameter-overrides HubRoleArn=<hub-role-arn>
   or leave that account out with aws-accounts (step c).

c. Turn organization mode on, and optionally choose accounts (IDs to include, !<id> to exclude):

   az keyvault secret set --vault-name $vault --name aws-member-role-name --value $member_role
   az keyvault secret set --vault-name $vault --name aws-accounts --value '!<management-account-id>'

EOF

if [ -n "${ALERT_RECEIVERS_WARNING:-}" ]; then
  echo "Alerts: $ALERT_RECEIVERS_WARNING"
fi
# Customer tenants (ENTRA_TENANTS): each admin consents to the multi-tenant app once.
if [ -n "${ENTRA_ADMIN_CONSENT_URL:-}" ] && [ -n "${ENTRA_TENANTS:-}" ]; then
  echo "Customer tenants: an admin of each (Privileged Role Administrator or Global Administrator) opens"
  echo "its link once, granting the app AuditLog.Read.All and Directory.Read.All there:"
  printf '%s\n' "$ENTRA_TENANTS" | tr ',;' '\n\n' | while IFS= read -r entry; do
    tenant=$(printf '%s' "${entry%%=*}" | tr -d ' \t\r')
    [ -n "$tenant" ] || continue
    echo "  $(printf '%s' "$ENTRA_ADMIN_CONSENT_URL" | sed "s|<tenant>|$tenant|")"
  done
fi
if [ -n "${AWS_ROLE_ARN:-}" ]; then
  echo "AWS_ROLE_ARN is already set in this azd environment: $(quote "$AWS_ROLE_ARN")"
fi
if [ -n "$missing" ]; then
  echo "postprovision: fill in${missing} above by hand, or add the missing outputs to infra/main.bicep."
fi
