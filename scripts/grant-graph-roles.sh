#!/bin/sh
# Grants the collector's managed identity the Microsoft Graph application roles the Entra collectors
# need (AuditLog.Read.All, Directory.Read.All), and optionally creates the Entra app registration AWS
# trusts. Run by an administrator (Privileged Role Administrator or Global Administrator for the grants;
# Application Developer or more for --create-app where users may not register applications), signed in
# with the Azure CLI (`az login`). The postprovision hook runs it itself when the deployer is such an
# administrator, and otherwise prints the exact command. Same behaviour: grant-graph-roles.ps1.
#
#   sh scripts/grant-graph-roles.sh --principal-id <managed identity object id>
#   sh scripts/grant-graph-roles.sh --create-app <unique-name> [--display-name <name>]
#
# Why not in Bicep: a grant to an identity created moments before fails intermittently while Entra
# replicates it ("Not a valid reference update", https://github.com/microsoftgraph/msgraph-bicep-types/issues/193).
# This script first waits until Graph returns the identity, then retries each grant on that error (and
# on throttling and server errors) until --max-wait-seconds have passed. It is idempotent: roles already
# granted are left alone. Graph API: https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto
# ("Privileged Role Administrator - the least privileged role supported for Microsoft Graph ... app roles").
#
# Exit status: 0 done, 1 failed (the message says why), 2 usage.
set -u

graph=https://graph.microsoft.com/v1.0
graph_app_id=00000003-0000-0000-c000-000000000000
# Microsoft Graph application role IDs (the same in every tenant).
roles='AuditLog.Read.All=b0afded3-3588-46d8-8b3d-9842eff778da Directory.Read.All=7ab1d382-f21e-4acd-a863-ba3e13f7da61'

principal=''
create_app=''
display_name=''
max_wait=600
delay=5

usage() {
  cat >&2 <<'EOF'
usage: grant-graph-roles.sh --principal-id <object-id> [--max-wait-seconds N] [--retry-delay N]
       grant-graph-roles.sh --create-app <unique-name> [--display-name <name>]
Without --principal-id, AZURE_MANAGED_IDENTITY_PRINCIPAL_ID is used (also from `azd env get-value`).
EOF
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
    --principal-id) [ $# -ge 2 ] || usage; principal=$2; shift 2 ;;
    --create-app) [ $# -ge 2 ] || usage; create_app=$2; shift 2 ;;
    --display-name) [ $# -ge 2 ] || usage; display_name=$2; shift 2 ;;
    --max-wait-seconds) [ $# -ge 2 ] || usage; max_wait=$2; shift 2 ;;
    --retry-delay) [ $# -ge 2 ] || usage; delay=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "grant-graph-roles: unknown argument $1" >&2; usage ;;
  esac
done
case $max_wait$delay in *[!0-9]*) echo 'grant-graph-roles: --max-wait-seconds and --retry-delay take whole seconds' >&2; exit 2 ;; esac

say() { printf 'grant-graph-roles: %s\n' "$*"; }
fail() { printf 'grant-graph-roles: %s\n' "$*" >&2; exit 1; }

command -v az >/dev/null 2>&1 || fail 'the Azure CLI (az) is not on PATH: install it and run `az login` as the administrator.'
az account show --query tenantId -o tsv >/dev/null 2>&1 || fail 'the Azure CLI is not signed in: run `az login` as the administrator, then this again.'

is_guid() {
  printf '%s\n' "$1" | grep -Eqi '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
}

# Runs az in this shell (no subshell, so the results stay): its output, without carriage returns, in
# az_result; on failure its error text, on one line, in last_error.
az_result=''
last_error=''
az_call() {
  out_file=$(mktemp)
  err_file=$(mktemp)
  if az "$@" >"$out_file" 2>"$err_file"; then
    az_result=$(tr -d '\r' <"$out_file")
    rm -f "$out_file" "$err_file"
    return 0
  fi
  az_result=''
  last_error=$(tr '\r\n' '  ' <"$err_file")
  rm -f "$out_file" "$err_file"
  return 1
}

deadline=$(($(date +%s) + max_wait))
# Sleeps before the next attempt (doubling from --retry-delay, at most 30 s); fails once past the deadline.
backoff() {
  now=$(date +%s)
  [ "$now" -lt "$deadline" ] || return 1
  left=$((deadline - now))
  wait=$current_delay
  [ "$wait" -le "$left" ] || wait=$left
  sleep "$wait"
  current_delay=$((current_delay * 2))
  [ "$current_delay" -le 30 ] || current_delay=30
  return 0
}

if [ -n "$create_app" ]; then
  case $create_app in
    *[!A-Za-z0-9._-]* | '') fail "--create-app takes a unique name of letters, digits, '.', '_' and '-' ($create_app)" ;;
  esac
  az_call account show --query tenantId -o tsv || fail "could not read the tenant: $last_error"
  tenant=$az_result
  audience="api://$tenant/$create_app"
  [ -n "$display_name" ] || display_name="crosscloud-identity-monitor AWS federation ($create_app)"
  # Upsert by uniqueName (https://learn.microsoft.com/graph/api/application-upsert): v1 tokens, so AWS sees
  # iss = https://sts.windows.net/<tenant>/ (see infra/modules/entra.bicep, which creates the same app).
  body=$(printf '{"displayName":"%s","signInAudience":"AzureADMyOrg","identifierUris":["%s"],"api":{"requestedAccessTokenVersion":1}}' "$display_name" "$audience")
  az_call rest --method patch --url "$graph/applications(uniqueName='$create_app')" \
    --headers 'Prefer=create-if-missing' 'Content-Type=application/json' --body "$body" ||
    fail "could not create the app registration $create_app: $last_error"
  az_call rest --method get --url "$graph/applications(uniqueName='$create_app')?\$select=appId" --query appId -o tsv ||
    fail "could not read the app registration $create_app: $last_error"
  app_id=$az_result
  # Entra issues tokens for an app only when it has a service principal (else AADSTS500011).
  if ! az_call ad sp show --id "$app_id" --query id -o tsv; then
    current_delay=$delay
    until az_call ad sp create --id "$app_id"; do
      backoff || fail "could not create the service principal of $create_app: $last_error"
    done
  fi
  say "app registration $create_app (appId $app_id) is ready; its identifier URI is the federation audience."
  say "Next, in the azd environment of this deployment:"
  say "  azd env set AWS_FEDERATION_AUDIENCE $audience && azd provision"
  [ -n "$principal" ] || exit 0
fi

if [ -z "$principal" ]; then
  principal=${AZURE_MANAGED_IDENTITY_PRINCIPAL_ID:-}
  if [ -z "$principal" ] && command -v azd >/dev/null 2>&1; then
    principal=$(azd env get-value AZURE_MANAGED_IDENTITY_PRINCIPAL_ID 2>/dev/null | tr -d '\r') || principal=''
  fi
fi
[ -n "$principal" ] || usage
is_guid "$principal" || fail "--principal-id must be the managed identity's object (principal) ID, a GUID ($principal)"

az_call ad sp show --id "$graph_app_id" --query id -o tsv ||
  fail "could not read the Microsoft Graph service principal: $last_error"
graph_sp=$az_result

# 1. Wait until Graph knows the identity (a just-created one replicates for a while).
current_delay=$delay
while :; do
  az_call rest --method get --url "$graph/servicePrincipals/$principal?\$select=id" --query id -o tsv &&
    [ "$az_result" = "$principal" ] && break
  case $last_error in
    *Authorization_RequestDenied* | *Forbidden*) fail "not allowed to read service principals: $last_error" ;;
  esac
  if [ "$current_delay" = "$delay" ]; then say "waiting for Microsoft Graph to know the identity $principal (a new identity takes a while to replicate)..."; fi
  backoff || fail "Microsoft Graph does not know the service principal $principal after ${max_wait}s: is it the managed identity's principal (object) ID? ($last_error)"
done

# The IDs of the Graph app roles the identity has, one a line, in az_result.
granted() {
  az_call rest --method get --url "$graph/servicePrincipals/$principal/appRoleAssignments" \
    --query "value[?resourceId=='$graph_sp'].appRoleId" -o tsv
}

# 2. Grant each missing role, retrying while the identity is still replicating.
granted || fail "could not list the identity's app role assignments: $last_error"
have=$az_result
for pair in $roles; do
  name=${pair%%=*}
  id=${pair#*=}
  if printf '%s\n' "$have" | grep -qix "$id"; then
    say "$name is already granted."
    continue
  fi
  body=$(printf '{"principalId":"%s","resourceId":"%s","appRoleId":"%s"}' "$principal" "$graph_sp" "$id")
  current_delay=$delay
  while :; do
    if az_call rest --method post --url "$graph/servicePrincipals/$graph_sp/appRoleAssignedTo" \
      --headers 'Content-Type=application/json' --body "$body"; then
      say "granted $name."
      break
    fi
    case $last_error in
      *'already exists'*)
        say "$name is already granted."
        break
        ;;
      *Authorization_RequestDenied* | *'Insufficient privileges'* | *Forbidden*)
        fail "not allowed to grant $name: granting Microsoft Graph app roles needs Privileged Role Administrator or Global Administrator (activate the role first if it is eligible in PIM). ($last_error)"
        ;;
    esac
    # "Not a valid reference update" / "does not exist" while replicating, 429, 5xx: try again.
    backoff || fail "could not grant $name within ${max_wait}s: $last_error"
  done
done

# 3. Check: both roles are there.
granted || fail "could not list the identity's app role assignments: $last_error"
have=$az_result
for pair in $roles; do
  printf '%s\n' "$have" | grep -qix "${pair#*=}" || fail "${pair%%=*} is not listed among the identity's app role assignments after granting it."
done
say "done: the identity $principal has AuditLog.Read.All and Directory.Read.All on Microsoft Graph (the next Entra collector run uses them; a token cached before the grant lasts up to 24 h)."
