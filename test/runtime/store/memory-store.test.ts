import { asyncStore } from '../../../runtime/store/async-state-adapter.js';
import { openStore } from '../../../runtime/store/open-store.js';
import { describeStore } from './store-contract.js';
import { describeTransactions } from './transaction-contract.js';

describeStore('memory', async () => asyncStore(openStore({ type: 'memory' })));
describeTransactions('memory', () => openStore({ type: 'memory' }));
