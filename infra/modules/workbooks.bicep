// The shared workbooks, one per file in infra/workbooks (serializedData, written by hand or exported
// from the portal's Advanced Editor), all bound to the workspace. Names are deterministic GUIDs, so a
// re-deployment updates a workbook instead of adding one.

param location string
param tags object = {}

@description('Resource ID of the Log Analytics workspace the workbooks query.')
param workspaceId string

// Sentinel lists in its workbook gallery the workbooks of category 'sentinel' that live in the
// workspace's resource group with that workspace as their source (the category Sentinel's own
// solutions deploy with; https://github.com/briandelmsft/SentinelAutomationModules/issues/252).
@description('workbook: Azure Monitor workbooks; sentinel: the same workbooks in Microsoft Sentinel\'s gallery.')
@allowed(['workbook', 'sentinel'])
param category string = 'workbook'

@description('Distinguishes a second copy (e.g. the environment name for the Sentinel copies); empty keeps the original names.')
param nameSeed string = ''

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
    name: 'shadow-it'
    displayName: 'Shadow IT (web proxy)'
    serializedData: loadTextContent('../workbooks/shadow-it.workbook.json')
  }
  {
    name: 'people-across-clouds'
    displayName: 'People across clouds'
    // Its query items are infra/people/*.kql, put there by `npm run generate` (scripts/generate-people.ts).
    serializedData: loadTextContent('../workbooks/people-across-clouds.workbook.json')
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
    name: guid(resourceGroup().id, empty(nameSeed) ? wb.name : '${wb.name}/${nameSeed}/${category}')
    location: location
    tags: tags
    kind: 'shared'
    properties: {
      displayName: 'crosscloud-identity-monitor: ${wb.displayName}${empty(nameSeed) ? '' : ' (${nameSeed})'}'
      category: category
      version: 'Notebook/1.0'
      serializedData: wb.serializedData
      sourceId: workspaceId
    }
  }
]

output workbookIds array = [for (wb, i) in workbooks: workbook[i].id]
