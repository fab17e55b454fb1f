#!/bin/sh
# Part of the azd postprovision hook (postprovision.sh runs it first): the Entra ID steps left after
# provisioning (issue 14 items 1-2). postprovision-entra.ps1 does the same on Windows.
#   - CIM_GRANT_GRAPH_ROLES=true (the preprovision hook found the deployer may grant Microsoft Graph app
#     roles): grants them now with scripts/grant-graph-roles.sh, which waits until Graph knows the
#     identity created moments ago and retries (https://github.com/microsoftgraph/msgraph-bicep-types/issues/193).
#   - otherwise: prints exactly what an administrator runs, with this deployment's values.
#   - no app registration for AWS yet (AWS_FEDERATION_AUDIENCE empty): prints how an administrator
#     creates one and hands it to this deployment.
# It never fails the provisioning: it always exits 0.
set -u

principal=${AZURE_MANAGED_IDENTITY_PRINCIPAL_ID:-}
[ -n "$principal" ] || principal='<AZURE_MANAGED_IDENTITY_PRINCIPAL_ID>'
grant=$(printf '%s' "${CIM_GRANT_GRAPH_ROLES:-false}" | tr 'A-Z' 'a-z')
here=$(dirname "$0")
script="$here/../../scripts/grant-graph-roles.sh"

print_admin_grant() {
  cat <<EOF
   An administrator (Privileged Role Administrator or Global Administrator) grants them, in a clone of
   this repository, signed in with az login:

     sh scripts/grant-graph-roles.sh --principal-id $principal

   or in PowerShell:

     pwsh scripts/grant-graph-roles.ps1 -PrincipalId $principal

   or with the Azure CLI alone:

     graph_sp=\$(az ad sp show --id 00000003-0000-0000-c000-000000000000 --query id -o tsv)
     for role in b0afded3-3588-46d8-8b3d-9842eff778da 7ab1d382-f21e-4acd-a863-ba3e13f7da61; do
       az rest --method post --url "https://graph.microsoft.com/v1.0/servicePrincipals/\$graph_sp/appRoleAssignedTo" \\
         --body "{\"principalId\":\"$principal\",\"resourceId\":\"\$graph_sp\",\"appRoleId\":\"\$role\"}"
     done

   Until then the Entra collectors' runs fail, naming the missing role (see CollectorRuns_CL); the AWS
   collector does not need these roles.
EOF
}

echo
echo 'Entra ID: Microsoft Graph app roles AuditLog.Read.All and Directory.Read.All for the collectors'
echo "identity ($principal)"
if [ "$grant" = true ] && [ "$principal" != '<AZURE_MANAGED_IDENTITY_PRINCIPAL_ID>' ]; then
  if sh "$script" --principal-id "$principal"; then
    echo '   Granted.'
  else
    echo '   NOT granted (see the reason above). Run the same again once it is fixed:'
    echo "     sh scripts/grant-graph-roles.sh --principal-id $principal"
    print_admin_grant
  fi
else
  echo '   are NOT granted by this deployment (you are not an administrator who may, or GRANT_GRAPH_ROLES=false).'
  print_admin_grant
fi

if [ -z "${AWS_FEDERATION_AUDIENCE:-}" ]; then
  env_part=$(printf '%s' "${AZURE_ENV_NAME:-env}" | tr -c 'A-Za-z0-9-' '-')
  app="crosscloud-identity-monitor-aws-$env_part${NAME_SUFFIX:+-$NAME_SUFFIX}"
  cat <<EOF

Entra ID: there is no app registration for AWS to trust yet (this deployment may not create one), so
the AWS collector cannot start. An administrator (Application Developer or more) creates it:

     sh scripts/grant-graph-roles.sh --create-app $app
     (PowerShell: pwsh scripts/grant-graph-roles.ps1 -CreateApp $app)

   and it prints the audience to hand to this deployment:

     azd env set AWS_FEDERATION_AUDIENCE api://<tenant-id>/$app && azd provision

   The AWS steps below need that audience too (shown as <AWS_FEDERATION_AUDIENCE> until then).
EOF
fi
exit 0
