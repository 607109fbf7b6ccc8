// A component server written with weft's SDK. weft starts it (see weft.config.yml) and
// talks to it over stdin/stdout; console.log goes to stderr while it serves.
// Outside this repository: `npm install weft` and the same import works.
import { createServer } from 'weft/sdk';
import { lookupCompany, normalize, outreachPrompt, score } from './components.mjs';

const customerSchema = {
  type: 'object',
  required: ['id', 'name', 'email', 'country', 'plan', 'monthly_spend', 'signup_date'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    email: { type: 'string' },
    country: { type: 'string' },
    plan: { enum: ['free', 'pro', 'enterprise'] },
    monthly_spend: { type: 'number', minimum: 0 },
    signup_date: { type: 'string' },
  },
};

const normalizedSchema = {
  type: 'object',
  required: ['id', 'name', 'email', 'email_domain', 'country', 'plan', 'monthly_spend', 'tenure_days'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    email: { type: 'string' },
    email_domain: { type: 'string' },
    country: { type: ['string', 'null'], description: 'ISO 3166 alpha-2, null when unknown' },
    plan: { enum: ['free', 'pro', 'enterprise'] },
    monthly_spend: { type: 'number' },
    tenure_days: { type: 'integer', minimum: 0 },
  },
};

const companySchema = {
  type: ['object', 'null'],
  properties: {
    company: { type: ['string', 'null'] },
    industry: { type: 'string' },
    employees: { type: ['integer', 'null'] },
  },
};

await createServer()
  .component('normalize', {
    description: 'Tidy a raw customer record: name casing, lower-case email, ISO country code, tenure in days.',
    inputSchema: {
      type: 'object',
      required: ['customer', 'as_of'],
      properties: { customer: customerSchema, as_of: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } },
    },
    outputSchema: normalizedSchema,
  }, async (input) => normalize(input))
  .component('lookup_company', {
    description: 'Find the employer behind an e-mail domain in a company directory; fails for free-mail and unknown domains.',
    inputSchema: {
      type: 'object',
      required: ['email_domain', 'directory'],
      properties: { email_domain: { type: 'string' }, directory: { type: 'object' } },
    },
    outputSchema: companySchema,
  }, async (input) => lookupCompany(input))
  .component('score', {
    description: 'Score a customer 0-100 and assign a tier (gold / silver / bronze).',
    inputSchema: {
      type: 'object',
      required: ['customer'],
      properties: { customer: normalizedSchema, company: companySchema },
    },
    outputSchema: {
      type: 'object',
      required: ['score', 'tier', 'high_value', 'reasons'],
      properties: {
        score: { type: 'integer', minimum: 0, maximum: 100 },
        tier: { enum: ['gold', 'silver', 'bronze'] },
        high_value: { type: 'boolean' },
        reasons: { type: 'array', items: { type: 'string' } },
      },
    },
  }, async (input) => score(input))
  .component('outreach_prompt', {
    description: 'The prompt for a personal thank-you note to a high-value customer.',
    inputSchema: {
      type: 'object',
      required: ['customer'],
      properties: { customer: normalizedSchema, company: companySchema },
    },
    outputSchema: { type: 'object', required: ['prompt'], properties: { prompt: { type: 'string' } } },
  }, async (input) => outreachPrompt(input))
  .serveStdio();
