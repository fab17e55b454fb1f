#!/bin/sh
# azd postdown hook (POSIX sh); postdown.ps1 does the same on Windows, keep the two in step. azd down
# deletes the resource group; this cleans up, or says how to clean up, what lives outside it (issue 14
# item 3), and makes the next `azd up` in this environment work at once:
#   - the Entra app registration this environment created (AWS_FEDERATION_APP_ID, an output of
#     main.bicep; only one whose uniqueName is this app's): deleted, then, where the account may
#     (Application Administrator or more), deleted for good from the directory's deleted items;
#   - a new NAME_SUFFIX, so the next provisioning creates new Key Vault and app registration names: the
#     deleted vault keeps its name through its retention (purge protection forbids purging it), and a
#     deleted app keeps its uniqueName in the deleted items
#     (https://learn.microsoft.com/graph/templates/known-issues-graph-bicep);
#   - with an existing workspace: what stays there (tables with their data, the DCR, Sentinel content)
#     and the commands that remove it.
# The managed identity's Graph app-role grants went with the identity. Always exits 0 (azd down is done).
set -u

say() { printf 'postdown: %s\n' "$*"; }

env_set() {
  if command -v azd >/dev/null 2>&1; then
    if [ -n "${AZURE_ENV_NAME:-}" ]; then
      azd env set "$1" "$2" -e "$AZURE_ENV_NAME" >/dev/null 2>&1 || say "warning: could not run azd env set $1 '$2'"
    else
      azd env set "$1" "$2" >/dev/null 2>&1 || say "warning: could not run azd env set $1 '$2'"
    fi
  else
    say "warning: azd is not on PATH: run azd env set $1 '$2'"
  fi
}

az_ok=false
if command -v az >/dev/null 2>&1 && az account show --query id -o tsv >/dev/null 2>&1; then az_ok=true; fi

# --- the Entra app registration ------------------------------------------------------------------
app_id=${AWS_FEDERATION_APP_ID:-}
object_id=${AWS_FEDERATION_APP_OBJECT_ID:-}
if [ -n "$app_id" ]; then
  deleted=false
  if [ "$az_ok" = true ]; then
    unique=$(az ad app show --id "$app_id" --query uniqueName -o tsv 2>/dev/null | tr -d '\r')
    case $unique in
      crosscloud-identity-monitor-aws-*)
        if az ad app delete --id "$app_id" >/dev/null 2>&1; then
          deleted=true
          say "deleted the app registration $unique (appId $app_id)."
          if [ -n "$object_id" ] && az rest --method delete \
            --url "https://graph.microsoft.com/v1.0/directory/deletedItems/$object_id" >/dev/null 2>&1; then
            say '  ... and removed it for good from the deleted items.'
          else
            say "  It stays in the directory's deleted items for 30 days (restorable); an Application Administrator"
            say "  can remove it for good: az rest --method delete --url https://graph.microsoft.com/v1.0/directory/deletedItems/$object_id"
          fi
        else
          say "could not delete the app registration $unique (appId $app_id): its owner or an Application"
          say "Administrator runs: az ad app delete --id $app_id"
        fi
        ;;
      '')
        say "the app registration $app_id is already gone (or not readable)."
        deleted=true
        ;;
      *)
        say "left the app registration $app_id alone: its uniqueName ($unique) is not this app's."
        ;;
    esac
  else
    say "the Azure CLI is not signed in: delete the app registration this environment created yourself:"
    say "  az ad app delete --id $app_id"
  fi
  if [ "$deleted" = true ]; then
    # The next provisioning must not hand the deleted app's audience to the new function app.
    env_set AWS_FEDERATION_APP_ID ''
    env_set AWS_FEDERATION_APP_OBJECT_ID ''
    env_set AWS_FEDERATION_AUDIENCE ''
  fi
fi

# --- new names for the next azd up ---------------------------------------------------------------
suffix=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
env_set NAME_SUFFIX "$suffix"
vault=${AZURE_KEY_VAULT_NAME:-}
if [ -n "$vault" ]; then
  say "the Key Vault $vault is soft-deleted with purge protection: its name stays taken through its retention"
  say "period. The next azd up creates new names (NAME_SUFFIX=$suffix). To recover its secrets instead:"
  say "  az keyvault recover --name $vault"
fi

# --- an existing workspace -----------------------------------------------------------------------
workspace=${LOG_ANALYTICS_WORKSPACE_ID:-}
if [ -n "$workspace" ]; then
  group=${AZURE_LOG_ANALYTICS_WORKSPACE_RESOURCE_GROUP:-$(printf '%s' "$workspace" | cut -d/ -f5)}
  name=${AZURE_LOG_ANALYTICS_WORKSPACE_NAME:-$(printf '%s' "$workspace" | cut -d/ -f9)}
  dcr=${AZURE_DATA_COLLECTION_RULE_NAME:-<data collection rule>}
  say "kept in the existing workspace $name (resource group $group): the custom tables with their data,"
  say "the data collection rule $dcr and its diagnostic setting, and, with Sentinel, the analytics rules."
  say 'To remove them:'
  say "  az monitor data-collection rule delete --resource-group $group --name $dcr --yes"
  for file in infra/tables/*.json; do
    [ -f "$file" ] || continue
    table=$(basename "$file" .json)
    say "  az monitor log-analytics workspace table delete --resource-group $group --workspace-name $name --name $table --yes"
  done
  say "  (Sentinel: Analytics -> the rules named crosscloud-identity-monitor: ...)"
  say "  (Sentinel: Workbooks -> My workbooks -> crosscloud-identity-monitor: ... (${AZURE_ENV_NAME:-<environment>}))"
fi
exit 0
