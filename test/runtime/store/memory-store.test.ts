import { openStore } from '../../../runtime/store/open-store.js';
import { describeStore } from './store-contract.js';

describeStore('memory', () => openStore({ type: 'memory' }));
