#!/bin/sh
# azd preprovision hook (POSIX sh); preprovision.ps1 does the same on Windows, keep the two in step.
# Before anything is provisioned it finds out, with the Azure CLI, what this deployment can do, and
# writes the decisions into the azd environment (`azd env set`), which azd reloads before it reads
# infra/main.parameters.json:
#
# 1. Entra ID (issue 14 item 1). It asks Microsoft Graph what the signed-in user may do:
#    - create the AWS federation app registration: a directory role that may (Application Developer,
#      Application / Cloud Application Administrator, Global Administrator), or, for a member, the
#      tenant's "users can register applications" (authorizationPolicy.defaultUserRolePermissions
#      .allowedToCreateApps; https://learn.microsoft.com/graph/api/authorizationpolicy-get);
#    - grant Microsoft Graph app roles: Privileged Role Administrator or Global Administrator, the only
#      roles that may for Microsoft Graph's roles
#      (https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto).
#    Active directory roles only: a role eligible in PIM counts once activated.
#    -> CIM_CREATE_ENTRA_APP (read by main.parameters.json) and CIM_GRANT_GRAPH_ROLES (read by the
#       postprovision hook, which grants the roles or prints what an administrator must run).
#    DEPLOY_ENTRA_APP / GRANT_GRAPH_ROLES = true|false override the detection (auto when unset);
#    DEPLOY_ENTRA=false (the old switch) means both false.
# 2. Names that outlive `azd down` (item 3): NAME_SUFFIX must be 1-6 lower-case letters/digits; if this
#    environment's Key Vault (AZURE_KEY_VAULT_NAME, from the last provisioning) is soft-deleted and the
#    current suffix would give it the same name again, a new suffix is chosen (the postdown hook
#    normally does that already).
# 3. An existing workspace (item 6): LOG_ANALYTICS_WORKSPACE_ID must be a workspace's resource ID; azd
#    must be 1.24.0 or later (older versions of `azd down` delete every resource group the deployment
#    put resources in, which would be the workspace's: https://github.com/Azure/azure-dev/pull/7698);
#    the workspace must exist; whether it has Microsoft Sentinel sets SENTINEL_ENABLED unless set.
#
# It fails (and azd provisions nothing) only for an unusable LOG_ANALYTICS_WORKSPACE_ID or NAME_SUFFIX,
# or an azd too old for an existing workspace. When Graph cannot be asked (no az, not signed in, a
# service principal) it provisions what needs no directory role and says what is left to do.
set -u

say() { printf 'preprovision: %s\n' "$*"; }
lower() { printf '%s' "$1" | tr 'A-Z' 'a-z'; }

# Writes a value into this azd environment (and into this process, for the steps below).
env_set() {
  if command -v azd >/dev/null 2>&1; then
    if [ -n "${AZURE_ENV_NAME:-}" ]; then
      azd env set "$1" "$2" -e "$AZURE_ENV_NAME" >/dev/null || say "warning: could not run azd env set $1 $2"
    else
      azd env set "$1" "$2" >/dev/null || say "warning: could not run azd env set $1 $2"
    fi
  else
    say "warning: azd is not on PATH: set it yourself with azd env set $1 $2"
  fi
  eval "$1=\$2"
  export "$1"
}

# Runs az in this shell: output (no carriage returns) in az_result, the error text in az_error.
az_result=''
az_error=''
az_call() {
  az_file=$(mktemp)
  az_err_file=$(mktemp)
  if az "$@" >"$az_file" 2>"$az_err_file"; then
    az_result=$(tr -d '\r' <"$az_file")
    az_error=''
    rm -f "$az_file" "$az_err_file"
    return 0
  fi
  az_result=''
  az_error=$(tr '\r\n' '  ' <"$az_err_file")
  rm -f "$az_file" "$az_err_file"
  return 1
}

have_az=false
if command -v az >/dev/null 2>&1 && az_call account show --query user.type -o tsv; then
  have_az=true
  account_type=$az_result
else
  account_type=''
fi

# --- 1. Entra ID -----------------------------------------------------------------------------------
global_admin=62e90394-69f5-4237-9190-012177145e10
privileged_role_admin=e8611ab8-c189-46e8-94e1-60213ab1f814
application_admin=9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3
cloud_application_admin=158c047a-c907-4556-b7ef-446551a6b5f7
application_developer=cf1c38e5-3621-4004-a7cb-879624dced7c

want_app=$(lower "${DEPLOY_ENTRA_APP:-auto}")
want_grant=$(lower "${GRANT_GRAPH_ROLES:-auto}")
if [ "$(lower "${DEPLOY_ENTRA:-}")" = false ]; then
  [ "$want_app" = auto ] && want_app=false
  [ "$want_grant" = auto ] && want_grant=false
fi
for value in "$want_app" "$want_grant"; do
  case $value in
    true | false | auto) ;;
    *) say "DEPLOY_ENTRA_APP and GRANT_GRAPH_ROLES take true, false or auto (got $value)"; exit 1 ;;
  esac
done

can_create=unknown
can_grant=unknown
why=''
app_kept=false
if [ "$want_app" = auto ] || [ "$want_grant" = auto ]; then
  if [ "$have_az" != true ]; then
    why='the Azure CLI is not installed or not signed in (az login, as the account azd deploys with)'
  elif [ "$account_type" != user ]; then
    why="the Azure CLI is signed in as a $account_type, whose Graph permissions this hook does not read"
  elif ! az_call ad signed-in-user show --query '[id, userType, userPrincipalName]' -o tsv; then
    why='Microsoft Graph did not answer who is signed in'
  else
    user_id=$(printf '%s\n' "$az_result" | sed -n 1p)
    user_type=$(printf '%s\n' "$az_result" | sed -n 2p)
    user_name=$(printf '%s\n' "$az_result" | sed -n 3p)
    if [ -n "${AZURE_PRINCIPAL_ID:-}" ] && [ "$(lower "$AZURE_PRINCIPAL_ID")" != "$(lower "$user_id")" ]; then
      say "warning: az is signed in as $user_name ($user_id) but azd deploys as $AZURE_PRINCIPAL_ID: the"
      say "         answers below are for az's account. Sign both in as the same account, or let azd use"
      say "         az's sign-in: azd config set auth.useAzCliAuth true"
    fi
    if az_call rest --method get \
      --url 'https://graph.microsoft.com/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?$select=roleTemplateId' \
      --query 'value[].roleTemplateId' -o tsv; then
      roles=$(lower "$az_result")
      has_role() { printf '%s\n' "$roles" | grep -qx "$1"; }
      can_grant=false
      if has_role "$global_admin" || has_role "$privileged_role_admin"; then can_grant=true; fi
      can_create=false
      if has_role "$global_admin" || has_role "$application_admin" || has_role "$cloud_application_admin" ||
        has_role "$application_developer"; then
        can_create=true
      elif [ "$user_type" != Guest ] && az_call rest --method get \
        --url 'https://graph.microsoft.com/v1.0/policies/authorizationPolicy' \
        --query 'defaultUserRolePermissions.allowedToCreateApps' -o tsv; then
        [ "$(lower "$az_result")" = true ] && can_create=true
      elif [ "$user_type" != Guest ]; then
        can_create=unknown
        why='Microsoft Graph did not answer whether users may register applications'
      fi
      # An app registration from an earlier provisioning may be updated only by its owners and the
      # application administrators: anyone else keeps it as it is (and its audience, from the environment).
      app_id=${AWS_FEDERATION_APP_ID:-}
      if [ "$can_create" = true ] && [ -n "$app_id" ] && ! has_role "$global_admin" &&
        ! has_role "$application_admin" && ! has_role "$cloud_application_admin" &&
        az_call rest --method get --url "https://graph.microsoft.com/v1.0/applications(appId='$app_id')/owners?\$select=id" \
          --query 'value[].id' -o tsv &&
        ! printf '%s\n' "$(lower "$az_result")" | grep -qx "$(lower "$user_id")"; then
        can_create=false
        app_kept=true
      fi
    else
      why="Microsoft Graph did not list $user_name's directory roles"
    fi
  fi
fi

decide() { # wanted detected -> true|false
  case $1 in
    true | false) printf '%s' "$1" ;;
    *) if [ "$2" = true ]; then printf true; else printf false; fi ;;
  esac
}
create_app=$(decide "$want_app" "$can_create")
grant_roles=$(decide "$want_grant" "$can_grant")
env_set CIM_CREATE_ENTRA_APP "$create_app"
env_set CIM_GRANT_GRAPH_ROLES "$grant_roles"

say 'Entra ID:'
case $want_app:$create_app:$app_kept in
  auto:false:true) say "  - the app registration AWS trusts: kept as it is (it exists, appId ${AWS_FEDERATION_APP_ID:-}, and you are not its owner)." ;;
  auto:true:*) say '  - the app registration AWS trusts: created by this deployment (you may register applications).' ;;
  auto:false:*) say '  - the app registration AWS trusts: NOT created by this deployment (you may not register applications, or it could not be found out).' ;;
  *:true:*) say '  - the app registration AWS trusts: created by this deployment (DEPLOY_ENTRA_APP=true).' ;;
  *) say '  - the app registration AWS trusts: not created by this deployment (DEPLOY_ENTRA_APP=false).' ;;
esac
case $want_grant:$grant_roles in
  auto:true) say '  - Microsoft Graph app roles AuditLog.Read.All, Directory.Read.All: granted after provisioning (you are an administrator who may).' ;;
  auto:false) say '  - Microsoft Graph app roles AuditLog.Read.All, Directory.Read.All: NOT granted (that needs Privileged Role Administrator or Global Administrator): the postprovision step prints what an administrator runs.' ;;
  *:true) say '  - Microsoft Graph app roles: granted after provisioning (GRANT_GRAPH_ROLES=true).' ;;
  *) say '  - Microsoft Graph app roles: not granted (GRANT_GRAPH_ROLES=false): the postprovision step prints what an administrator runs.' ;;
esac
[ -z "$why" ] || say "  (not detected: $why; override with azd env set DEPLOY_ENTRA_APP / GRANT_GRAPH_ROLES true)"
if [ "$create_app" = false ] && [ -z "${AWS_FEDERATION_AUDIENCE:-}" ]; then
  say '  The AWS collector needs that app registration: the postprovision step prints how an administrator'
  say '  creates it; everything else is provisioned now.'
fi

# --- 2. Names that outlive azd down ---------------------------------------------------------------
suffix=${NAME_SUFFIX:-}
case $suffix in
  '') ;;
  *[!a-z0-9]*)
    say "NAME_SUFFIX must be 1-6 lower-case letters and digits (got $suffix): azd env set NAME_SUFFIX <new>"
    exit 1
    ;;
  ???????*)
    say "NAME_SUFFIX must be at most 6 characters (got $suffix)"
    exit 1
    ;;
esac
new_suffix() { od -An -N3 -tx1 /dev/urandom | tr -d ' \n'; }
vault=${AZURE_KEY_VAULT_NAME:-}
if [ -n "$vault" ] && [ "$have_az" = true ]; then
  # kv-<13-character token><-suffix>: would this provisioning create the same name again?
  rest=${vault#kv-?????????????}
  # In azd's subscription (az's default one may be another).
  if [ "$rest" = "${suffix:+-$suffix}" ] &&
    ! az_call keyvault show --name "$vault" --query name -o tsv ${AZURE_SUBSCRIPTION_ID:+--subscription "$AZURE_SUBSCRIPTION_ID"} &&
    az_call keyvault show-deleted --name "$vault" --query 'properties.scheduledPurgeDate' -o tsv \
      ${AZURE_SUBSCRIPTION_ID:+--subscription "$AZURE_SUBSCRIPTION_ID"}; then
    purge_date=$az_result
    suffix=$(new_suffix)
    env_set NAME_SUFFIX "$suffix"
    say "The Key Vault $vault of this environment is deleted but kept (soft delete, purge protection) until"
    say "${purge_date:-the end of its retention}; its name cannot be used again before. New NAME_SUFFIX=$suffix: this"
    say "provisioning creates a new vault (and app registration) name. To get the old vault's secrets back"
    say "instead: az keyvault recover --name $vault, then azd env set NAME_SUFFIX '${rest#-}'."
  fi
fi

# --- 3. An existing workspace ---------------------------------------------------------------------
workspace=${LOG_ANALYTICS_WORKSPACE_ID:-}
if [ -n "$workspace" ]; then
  if ! printf '%s\n' "$workspace" |
    grep -Eqi '^/subscriptions/[0-9a-f-]{36}/resourcegroups/[^/]+/providers/microsoft\.operationalinsights/workspaces/[^/]+$'; then
    say "LOG_ANALYTICS_WORKSPACE_ID must be a workspace's resource ID,"
    say "  /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/workspaces/<name>"
    say "  (got $workspace). Find it with: az monitor log-analytics workspace list --query '[].id' -o tsv"
    exit 1
  fi
  if command -v azd >/dev/null 2>&1; then
    version=$(azd version 2>/dev/null | sed -n 's/.*azd version \([0-9][0-9]*\)\.\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -n 1)
    if [ -n "$version" ]; then
      major=${version% *}
      minor=${version#* }
      if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 24 ]; }; then
        say "azd $major.$minor is too old to deploy into an existing workspace: before 1.24.0, azd down deletes"
        say "every resource group the deployment put resources in, here the workspace's"
        say "(https://github.com/Azure/azure-dev/pull/7698). Update azd (https://aka.ms/azd), then run this again."
        exit 1
      fi
    else
      say 'warning: could not read the azd version; azd 1.24.0 or later is needed with an existing workspace.'
    fi
  fi
  if [ "$have_az" = true ]; then
    if az_call resource show --ids "$workspace" --query location -o tsv; then
      say "Existing workspace: $workspace ($az_result). The tables and the data collection rule go into its"
      say 'resource group (the DCR in its region); the workbooks, alerts and Application Insights use it; no'
      say 'workspace is created. azd down leaves them there (the postdown step says how to remove them).'
    else
      say "LOG_ANALYTICS_WORKSPACE_ID names no workspace this account can read: $workspace"
      exit 1
    fi
    sentinel=''
    if az_call rest --method get \
      --url "https://management.azure.com$workspace/providers/Microsoft.SecurityInsights/onboardingStates/default?api-version=2024-09-01" \
      --query name -o tsv; then
      sentinel=true
    else
      case $az_error in
        # The workspace is readable (above), its Sentinel onboarding state does not exist: no Sentinel.
        *NotFound* | *'not found'* | *'(404)'*) sentinel=false ;;
        *) say "warning: could not tell whether the workspace has Microsoft Sentinel ($az_error)." ;;
      esac
    fi
    if [ -n "$sentinel" ]; then
      say "Microsoft Sentinel on that workspace: $([ "$sentinel" = true ] && echo yes || echo no)."
      if [ -z "${SENTINEL_ENABLED:-}" ]; then
        env_set SENTINEL_ENABLED "$sentinel"
      elif [ "$(lower "$SENTINEL_ENABLED")" != "$sentinel" ]; then
        say "  (SENTINEL_ENABLED=$SENTINEL_ENABLED is kept as set.)"
      fi
    fi
  else
    say 'warning: the Azure CLI is not signed in: the workspace and its Sentinel could not be checked.'
  fi
elif [ "$(lower "${SENTINEL_ENABLED:-false}")" = true ]; then
  say 'warning: SENTINEL_ENABLED=true with a new workspace: Microsoft Sentinel must be enabled on it for the'
  say '         analytics rules (set LOG_ANALYTICS_WORKSPACE_ID to use the workspace that has Sentinel).'
fi
exit 0
