// The shared workbooks, one per file in infra/workbooks (serializedData, written by hand or exported
// from the portal's Advanced Editor), all bound to the workspace. Names are deterministic GUIDs, so a
// re-deployment updates a workbook instead of adding one.

param location string
param tags object = {}

@description('Resource ID of the Log Analytics workspace the workbooks query.')
param workspaceId string

var workbooks = [
  {
    name: 'aws-access-keys'
    displayName: 'AWS IAM access keys'
    serializedData: loadTextContent('../workbooks/aws-access-keys.workbook.json')
  }
  {
    name: 'entra-signins'
    displayName: 'Entra ID sign-ins'
    serializedData: loadTextContent('../workbooks/entra-signins.workbook.json')
  }
  {
    name: 'entra-audit'
    displayName: 'Entra ID directory audits'
    serializedData: loadTextContent('../workbooks/entra-audit.workbook.json')
  }
  {
    name: 'collector-health'
    displayName: 'Collector health'
    // The declared collectors (infra/collectors.json) fill the empty `datatable(Collector: string) []`.
    serializedData: replace(
      loadTextContent('../workbooks/collector-health.workbook.json'),
      'datatable(Collector: string) []',
      'datatable(Collector: string) ${loadJsonContent('../collectors.json').collectorList}'
    )
  }
]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = [
  for wb in workbooks: {
    name: guid(resourceGroup().id, wb.name)
    location: location
    tags: tags
    kind: 'shared'
    properties: {
      displayName: 'crosscloud-identity-monitor: ${wb.displayName}'
      category: 'workbook'
      version: 'Notebook/1.0'
      serializedData: wb.serializedData
      sourceId: workspaceId
    }
  }
]

output workbookIds array = [for (wb, i) in workbooks: workbook[i].id]
