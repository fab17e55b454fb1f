// Static catalogues the synthetic tenant is drawn from: names, well-known apps and resources, places, Entra
// error codes, Conditional Access policies, directory roles and groups, and the directory-audit activities.

// prettier-ignore
export const FIRST_NAMES = [
  'Adele', 'Alex', 'Allan', 'Christie', 'Debra', 'Diego', 'Emily', 'Enrico', 'Grady', 'Henrietta',
  'Irvin', 'Isaiah', 'Johanna', 'Joni', 'Lee', 'Lidia', 'Lynne', 'Megan', 'Miriam', 'Nestor',
  'Patti', 'Pradeep', 'Raul', 'Ren', 'Sanjay', 'Sofia', 'Tomas', 'Wei', 'Yuki', 'Zainab',
  'Amara', 'Björn', 'Chloé', 'Dmitri', 'Fatima', 'Hiroshi', 'Ingrid', 'José', 'Kwame', 'Léa',
] as const;
// prettier-ignore
export const LAST_NAMES = [
  'Vance', 'Wilber', 'Deyoung', 'Cline', 'Berg', 'Siciliani', 'Braun', 'Vescovi', 'Archie', 'Gonzalez',
  'Morgan', 'Tran', 'Lang', 'Sherman', 'Gu', 'Holloway', 'Valentine', 'Bowen', 'Graham', 'Wilke',
  'Fernandez', 'Gupta', 'Ramos', 'Nakamura', 'Patel', 'Rossi', 'Novak', 'Zhang', 'Sato', 'Okafor',
  'Mensah', 'Lindqvist', 'Dubois', 'Ivanov', 'Haddad', 'Tanaka', 'Johansson', 'García', 'Asante', 'Moreau',
] as const;

interface NamedApp {
  appId: string;
  displayName: string;
}

// Well-known first-party client applications (real app IDs).
export const CLIENT_APPS: readonly NamedApp[] = [
  { appId: '4765445b-32c6-49b0-83e6-1d93765276ca', displayName: 'OfficeHome' },
  { appId: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c', displayName: 'Azure Portal' },
  { appId: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', displayName: 'Microsoft Teams' },
  { appId: 'd3590ed6-52b3-4102-aeff-aad2292ab01c', displayName: 'Microsoft Office' },
  { appId: '00000002-0000-0ff1-ce00-000000000000', displayName: 'Office 365 Exchange Online' },
  { appId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46', displayName: 'Microsoft Azure CLI' },
  { appId: '1950a258-227b-4e31-a9cf-717495945fc2', displayName: 'Microsoft Azure PowerShell' },
  { appId: '29d9ed98-a469-4536-ade2-f981bc1d605e', displayName: 'Microsoft Authentication Broker' },
  { appId: '38aa3b87-a06d-4817-b275-7a316988d93b', displayName: 'Windows Sign In' },
  { appId: '00000003-0000-0ff1-ce00-000000000000', displayName: 'Office 365 SharePoint Online' },
  { appId: '14d82eec-204b-4c2f-b7e8-296a70dab67e', displayName: 'Microsoft Graph Command Line Tools' },
  { appId: '89bee1f7-5e6e-4d8a-9f3d-ecd601259da7', displayName: 'Office365 Shell WCSS-Client' },
];

interface NamedResource {
  id: string;
  displayName: string;
}

export const RESOURCES: readonly NamedResource[] = [
  { id: '00000003-0000-0000-c000-000000000000', displayName: 'Microsoft Graph' },
  { id: '00000002-0000-0ff1-ce00-000000000000', displayName: 'Office 365 Exchange Online' },
  { id: '00000003-0000-0ff1-ce00-000000000000', displayName: 'Office 365 SharePoint Online' },
  { id: '797f4846-ba00-4fd7-ba43-dac1f8f63013', displayName: 'Windows Azure Service Management API' },
  { id: '00000002-0000-0000-c000-000000000000', displayName: 'Windows Azure Active Directory' },
  { id: 'cc15fd57-2c6c-4117-a88c-83b1d56b4bbe', displayName: 'Microsoft Teams Services' },
];
export const WORKLOAD_RESOURCES: readonly NamedResource[] = [
  { id: '00000003-0000-0000-c000-000000000000', displayName: 'Microsoft Graph' },
  { id: 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093', displayName: 'Azure Key Vault' },
  { id: 'e406a681-f3d4-42a8-90b6-c2b029497af1', displayName: 'Azure Storage' },
  { id: '797f4846-ba00-4fd7-ba43-dac1f8f63013', displayName: 'Windows Azure Service Management API' },
];

export const SERVICE_PRINCIPAL_NAMES = [
  'svc-hr-sync',
  'terraform-deploy',
  'github-actions-prod',
  'backup-orchestrator',
  'crm-connector',
  'grafana-reader',
  'datadog-integration',
  'jenkins-ci',
  'payroll-export',
  'sentinel-playbooks',
] as const;
export const MANAGED_IDENTITY_NAMES = [
  'func-identity-monitor',
  'aks-agentpool',
  'vm-build-01',
  'logic-approvals',
  'adf-ingest',
] as const;

export interface Place {
  city: string;
  state: string;
  countryOrRegion: string;
  latitude: number;
  longitude: number;
  ipPrefix: string;
}

// prettier-ignore
export const PLACES: readonly Place[] = [
  { city: 'Seattle', state: 'Washington', countryOrRegion: 'US', latitude: 47.6062, longitude: -122.3321, ipPrefix: '131.107' },
  { city: 'Redmond', state: 'Washington', countryOrRegion: 'US', latitude: 47.674, longitude: -122.1215, ipPrefix: '167.220' },
  { city: 'New York', state: 'New York', countryOrRegion: 'US', latitude: 40.7128, longitude: -74.006, ipPrefix: '72.229' },
  { city: 'London', state: 'England', countryOrRegion: 'GB', latitude: 51.5074, longitude: -0.1278, ipPrefix: '81.2' },
  { city: 'Amsterdam', state: 'Noord-Holland', countryOrRegion: 'NL', latitude: 52.3676, longitude: 4.9041, ipPrefix: '145.53' },
  { city: 'Frankfurt Am Main', state: 'Hessen', countryOrRegion: 'DE', latitude: 50.1109, longitude: 8.6821, ipPrefix: '62.157' },
  { city: 'Bengaluru', state: 'Karnataka', countryOrRegion: 'IN', latitude: 12.9716, longitude: 77.5946, ipPrefix: '49.207' },
  { city: 'Sydney', state: 'New South Wales', countryOrRegion: 'AU', latitude: -33.8688, longitude: 151.2093, ipPrefix: '203.2' },
  { city: 'São Paulo', state: 'São Paulo', countryOrRegion: 'BR', latitude: -23.5505, longitude: -46.6333, ipPrefix: '177.69' },
  { city: 'Tokyo', state: 'Tokyo', countryOrRegion: 'JP', latitude: 35.6762, longitude: 139.6503, ipPrefix: '133.242' },
  { city: 'Lagos', state: 'Lagos', countryOrRegion: 'NG', latitude: 6.5244, longitude: 3.3792, ipPrefix: '105.112' },
];
// prettier-ignore
export const AZURE_PLACES: readonly Place[] = [
  { city: 'Dublin', state: 'Dublin', countryOrRegion: 'IE', latitude: 53.3498, longitude: -6.2603, ipPrefix: '20.107' },
  { city: 'Amsterdam', state: 'Noord-Holland', countryOrRegion: 'NL', latitude: 52.3676, longitude: 4.9041, ipPrefix: '20.103' },
  { city: 'Boydton', state: 'Virginia', countryOrRegion: 'US', latitude: 36.6676, longitude: -78.3875, ipPrefix: '20.185' },
];

export const FAILURES: Record<number, { reason: string; details: string | null }> = {
  50126: {
    reason: 'Error validating credentials due to invalid username or password.',
    details:
      "The user didn't enter the right credentials. It's expected to see some number of these errors in your logs due to users making mistakes.",
  },
  50074: {
    reason: 'Strong Authentication is required.',
    details: 'User needs to perform multi-factor authentication.',
  },
  53003: {
    reason:
      'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.',
    details: null,
  },
  50053: {
    reason:
      'Account is locked because user tried to sign in too many times with an incorrect user ID or password.',
    details: null,
  },
  50140: {
    reason: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    details: null,
  },
  50076: {
    reason:
      'Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access this resource.',
    details: null,
  },
  70044: {
    reason: 'The session has expired or is invalid due to sign-in frequency checks by conditional access.',
    details: null,
  },
  50173: {
    reason:
      'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.',
    details: null,
  },
  7000215: {
    reason:
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.',
    details: null,
  },
  7000222: {
    reason:
      'The provided client secret keys for app are expired. Visit the Azure portal to create new keys for your app, or consider using certificate credentials for added security.',
    details: null,
  },
  500011: {
    reason: 'The resource principal named https://vault.azure.net was not found in the tenant.',
    details: null,
  },
};

export const CA_POLICIES = [
  ['Require MFA for administrators', ['Mfa']],
  ['Block legacy authentication', ['Block']],
  ['Require compliant or hybrid joined device', ['RequireCompliantDevice', 'RequireDomainJoinedDevice']],
  ['Block high-risk sign-ins', ['Block']],
  ['Require MFA for Azure management', ['Mfa']],
] as const;

export const ROLES = [
  ['Global Administrator', '62e90394-69f5-4237-9190-012177145e10', 'TenantAdmins'],
  ['User Administrator', 'fe930be7-5e62-47db-91af-98c3a49a38b1', 'UserAccountAdmins'],
  ['Security Reader', '5d6b6bb7-de71-4623-b4af-96380a352509', 'SecurityReader'],
  ['Application Administrator', '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', 'ApplicationAdministrator'],
  ['Privileged Role Administrator', 'e8611ab8-c189-46e8-94e1-60213ab1f814', 'PrivilegedRoleAdmins'],
  ['Helpdesk Administrator', '729827e3-9c14-49f7-bb1b-9608f156bbb8', 'HelpdeskAdmins'],
] as const;

export const GROUPS = [
  ['All Employees', 'unifiedGroups'],
  ['Finance Team', 'unifiedGroups'],
  ['Sales EMEA', 'unifiedGroups'],
  ['Engineering', 'azureAD'],
  ['VPN Users', 'azureAD'],
  ['Break Glass Admins', 'azureAD'],
  ['M365 Pilot', 'azureAD'],
] as const;

export const DEPARTMENTS = ['Sales', 'Marketing', 'Finance', 'Engineering', 'Legal', 'Support'] as const;

export type TargetType =
  'User' | 'Group' | 'Role' | 'ServicePrincipal' | 'Application' | 'Policy' | 'Device' | 'Other';

export interface AuditTemplate {
  category: string;
  activity: string;
  service: string;
  operationType: string;
  targets: readonly TargetType[];
  weight: number;
}

// prettier-ignore
export const AUDIT_TEMPLATES: readonly AuditTemplate[] = [
  { category: 'UserManagement', activity: 'Update user', service: 'Core Directory', operationType: 'Update', targets: ['User'], weight: 20 },
  { category: 'UserManagement', activity: 'Add user', service: 'Core Directory', operationType: 'Add', targets: ['User'], weight: 5 },
  { category: 'UserManagement', activity: 'Delete user', service: 'Core Directory', operationType: 'Delete', targets: ['User'], weight: 2 },
  { category: 'UserManagement', activity: 'Reset user password', service: 'Core Directory', operationType: 'Update', targets: ['User'], weight: 4 },
  { category: 'UserManagement', activity: 'Reset password (self-service)', service: 'Self-service Password Management', operationType: 'Update', targets: ['User'], weight: 3 },
  { category: 'UserManagement', activity: 'Disable account', service: 'Core Directory', operationType: 'Update', targets: ['User'], weight: 1 },
  { category: 'GroupManagement', activity: 'Add member to group', service: 'Core Directory', operationType: 'Assign', targets: ['User', 'Group'], weight: 14 },
  { category: 'GroupManagement', activity: 'Remove member from group', service: 'Core Directory', operationType: 'Unassign', targets: ['User', 'Group'], weight: 6 },
  { category: 'GroupManagement', activity: 'Add group', service: 'Core Directory', operationType: 'Add', targets: ['Group'], weight: 2 },
  { category: 'RoleManagement', activity: 'Add member to role', service: 'Core Directory', operationType: 'Assign', targets: ['User', 'Role'], weight: 3 },
  { category: 'RoleManagement', activity: 'Remove member from role', service: 'Core Directory', operationType: 'Unassign', targets: ['User', 'Role'], weight: 2 },
  { category: 'RoleManagement', activity: 'Add eligible member to role in PIM completed (permanent)', service: 'PIM', operationType: 'Assign', targets: ['Role', 'User'], weight: 1 },
  { category: 'ApplicationManagement', activity: 'Consent to application', service: 'Core Directory', operationType: 'Assign', targets: ['ServicePrincipal'], weight: 4 },
  { category: 'ApplicationManagement', activity: 'Add service principal', service: 'Core Directory', operationType: 'Add', targets: ['ServicePrincipal'], weight: 3 },
  // Graph really spells this one with an en dash and a trailing space.
  { category: 'ApplicationManagement', activity: 'Update application – Certificates and secrets management ', service: 'Core Directory', operationType: 'Update', targets: ['Application'], weight: 2 },
  { category: 'ApplicationManagement', activity: 'Add app role assignment to service principal', service: 'Core Directory', operationType: 'Assign', targets: ['ServicePrincipal'], weight: 2 },
  { category: 'Policy', activity: 'Update conditional access policy', service: 'Conditional Access', operationType: 'Update', targets: ['Policy'], weight: 2 },
  { category: 'Policy', activity: 'Add conditional access policy', service: 'Conditional Access', operationType: 'Add', targets: ['Policy'], weight: 1 },
  { category: 'Policy', activity: 'Update authorization policy', service: 'Core Directory', operationType: 'Update', targets: ['Policy'], weight: 1 },
  { category: 'DirectoryManagement', activity: 'Update company', service: 'Core Directory', operationType: 'Update', targets: ['Other'], weight: 1 },
  { category: 'DirectoryManagement', activity: 'Verify domain', service: 'Core Directory', operationType: 'Update', targets: ['Other'], weight: 1 },
  { category: 'Device', activity: 'Add device', service: 'Core Directory', operationType: 'Add', targets: ['Device'], weight: 5 },
  { category: 'Device', activity: 'Update device', service: 'Core Directory', operationType: 'Update', targets: ['Device'], weight: 5 },
];

export const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Microsoft Azure Graph Client Library 1.0',
  'python-requests/2.31.0',
] as const;

// What a sign-in's userAgent looks like for a device's operating system (DEVICE_PROFILES, UNMANAGED_PROFILES).
export const OS_USER_AGENT_TOKENS: Readonly<Record<string, string>> = {
  Windows10: 'Windows NT 10.0; Win64; x64',
  MacOs: 'Macintosh; Intel Mac OS X 10_15_7',
  Linux: 'X11; Linux x86_64',
  Ios: 'iPhone; CPU iPhone OS 17_1 like Mac OS X',
  Android: 'Linux; Android 14; Pixel 8',
};
// Legacy protocols sign in with ROPC, whose sign-ins Entra logs with this user agent.
export const ROPC_USER_AGENT = 'BAV2ROPC';
// First-party command-line apps, the usual targets of device-code phishing.
export const DEVICE_CODE_APPS: readonly string[] = [
  'Microsoft Azure CLI',
  'Microsoft Azure PowerShell',
  'Microsoft Graph Command Line Tools',
];
export const MFA_METHODS = [
  ['Mobile app notification', null],
  ['Text message', '+X XXXXXXXX42'],
  ['OATH verification code', null],
  ['Passkey (Microsoft Authenticator)', null],
] as const;

export const DEVICE_PROFILES = [
  ['Windows10', 'Edge 120.0.0', 'Azure AD joined'],
  ['Windows10', 'Chrome 119.0.0', 'Hybrid Azure AD joined'],
  ['MacOs', 'Safari 17.1', 'Azure AD registered'],
  ['Ios', 'Mobile Safari 17.1', 'Azure AD registered'],
  ['Android', 'Rich Client 5.2.7.0', 'Azure AD registered'],
] as const;
export const UNMANAGED_PROFILES = [
  ['Windows10', 'Chrome 120.0.0'],
  ['MacOs', 'Firefox 121.0'],
  ['Linux', 'Firefox 121.0'],
  ['Ios', 'Mobile Safari'],
  ['Android', 'Chrome Mobile 119.0.6045'],
  ['Windows10', 'Rich Client 4.61.0.0'],
] as const;

export const RISK_EVENTS = [
  ['unfamiliarFeatures'],
  ['anonymizedIPAddress'],
  ['unlikelyTravel', 'unfamiliarFeatures'],
  ['maliciousIPAddress'],
] as const;
