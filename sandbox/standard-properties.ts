/** A property definition as HubSpot's properties API returns it (the spec's `Property` schema). */
export interface PropertyDefinition {
  name: string;
  label: string;
  description: string;
  groupName: string;
  type: string;
  fieldType: string;
  options: Array<{ label: string; value: string; hidden: boolean; displayOrder?: number }>;
  displayOrder?: number;
  calculated?: boolean;
  externalOptions?: boolean;
  hasUniqueValue?: boolean;
  hidden?: boolean;
  hubspotDefined?: boolean;
  formField?: boolean;
  archived?: boolean;
  createdAt?: string;
  updatedAt?: string;
  modificationMetadata?: { archivable: boolean; readOnlyDefinition: boolean; readOnlyValue: boolean; readOnlyOptions?: boolean };
  [key: string]: unknown;
}

/** A property group (the spec's `PropertyGroup` schema). */
export interface PropertyGroupDefinition {
  name: string;
  label: string;
  displayOrder: number;
  archived: boolean;
}

/** The contact property groups every HubSpot account has. */
export const STANDARD_GROUPS: PropertyGroupDefinition[] = [
  { name: 'contactinformation', label: 'Contact information', displayOrder: 0, archived: false },
];

const LIFECYCLE_STAGES = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'];
const STAGE_LABELS = ['Subscriber', 'Lead', 'Marketing Qualified Lead', 'Sales Qualified Lead', 'Opportunity', 'Customer', 'Evangelist', 'Other'];

function standard(
  name: string, label: string, type: string, fieldType: string,
  extra: Partial<PropertyDefinition> & { readOnly?: boolean } = {},
): PropertyDefinition {
  const { readOnly = false, ...rest } = extra;
  return {
    name, label, description: '', groupName: 'contactinformation', type, fieldType, options: [], displayOrder: -1,
    calculated: false, externalOptions: false, hasUniqueValue: false, hidden: false, hubspotDefined: true, formField: !readOnly,
    archived: false, createdAt: '2019-08-06T02:41:08.029Z', updatedAt: '2019-08-06T02:41:08.029Z',
    modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: readOnly },
    ...rest,
  };
}

/** The standard contact properties scoreflow relies on, as HubSpot defines them. */
export const STANDARD_CONTACT_PROPERTIES: PropertyDefinition[] = [
  standard('email', 'Email', 'string', 'text', { description: "A contact's email address", textDisplayHint: 'email' }),
  standard('firstname', 'First Name', 'string', 'text', { description: "A contact's first name" }),
  standard('lastname', 'Last Name', 'string', 'text', { description: "A contact's last name" }),
  standard('phone', 'Phone Number', 'string', 'phonenumber', { description: "A contact's primary phone number" }),
  standard('company', 'Company Name', 'string', 'text', { description: 'Name of the contact\'s company' }),
  standard('jobtitle', 'Job Title', 'string', 'text', { description: "A contact's job title" }),
  standard('website', 'Website URL', 'string', 'text', { description: "The contact's company website" }),
  standard('lifecyclestage', 'Lifecycle Stage', 'enumeration', 'radio', {
    description: 'The qualification of contacts to sales readiness.',
    options: LIFECYCLE_STAGES.map((value, i) => ({ label: STAGE_LABELS[i] ?? value, value, hidden: false, displayOrder: i })),
    modificationMetadata: { archivable: false, readOnlyDefinition: false, readOnlyValue: false },
  }),
  standard('createdate', 'Create Date', 'datetime', 'date', { description: 'The date that a contact entered the system', readOnly: true }),
  standard('lastmodifieddate', 'Last Modified Date', 'datetime', 'date', { description: 'Most recent timestamp of any property update for a contact.', readOnly: true }),
  standard('hs_object_id', 'Record ID', 'number', 'number', { description: "The unique ID for this record. This value is set automatically by HubSpot.", readOnly: true }),
  standard('hubspotscore', 'HubSpot Score', 'number', 'number', {
    description: 'The number that tells you whether or not a contact is ready for sales engagement.', calculated: true, readOnly: true,
  }),
];

/** Properties HubSpot computes from the record itself; returned on every read, never stored in `properties`. */
export const SYSTEM_PROPERTIES = ['createdate', 'lastmodifieddate', 'hs_object_id'] as const;

/** Properties returned when a read names none. */
export const DEFAULT_READ_PROPERTIES = ['email', 'firstname', 'lastname', ...SYSTEM_PROPERTIES];
