// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title CarbonAnchor
/// @notice Anchors Merkle roots of carbon-ledger batches (OpenZeppelin `standard-v1` trees) so
/// that any third party can prove a signed activity record or ledger entry against the chain.
/// @dev Each batch stores only what a verifier needs without reading logs: its id, leaf count,
/// block of inclusion and the hash of its batch manifest. Everything else lives off chain.
contract CarbonAnchor is AccessControl {
    /// @notice Role allowed to anchor batch roots.
    bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");

    /// @notice What the chain remembers about one anchored batch (two storage slots).
    struct Batch {
        uint64 id;
        uint64 leafCount;
        uint64 blockNumber;
        bytes32 manifestHash;
    }

    /// @dev Batch id => root. Ids are dense, starting at 0.
    bytes32[] private _roots;

    /// @dev Root => batch. `leafCount == 0` means "not anchored": anchoring rejects empty batches.
    mapping(bytes32 root => Batch) private _batches;

    /// @notice The root is zero.
    error ZeroRoot();

    /// @notice The root is already anchored, as batch `batchId`.
    error DuplicateRoot(bytes32 root, uint256 batchId);

    /// @notice The batch has no leaves.
    error ZeroLeafCount();

    /// @notice No batch with this id.
    error UnknownBatch(uint256 batchId);

    /// @notice A batch root was anchored.
    event Anchored(
        uint256 indexed batchId, bytes32 indexed root, uint64 leafCount, bytes32 manifestHash
    );

    /// @param admin Holder of the admin role, who grants and revokes the anchoring role.
    /// @param anchorer First holder of the anchoring role (the ledger's anchoring worker).
    constructor(address admin, address anchorer) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ANCHOR_ROLE, anchorer);
    }

    /// @notice Anchors a batch root.
    /// @param root Merkle root of the batch tree; must be non-zero and not yet anchored.
    /// @param leafCount Number of leaves in the tree; must be non-zero.
    /// @param manifestHash keccak256 of the batch manifest's canonical JSON.
    /// @return batchId The new batch's id.
    function anchor(bytes32 root, uint64 leafCount, bytes32 manifestHash)
        external
        onlyRole(ANCHOR_ROLE)
        returns (uint256 batchId)
    {
        if (root == bytes32(0)) revert ZeroRoot();
        if (leafCount == 0) revert ZeroLeafCount();
        Batch storage existing = _batches[root];
        if (existing.leafCount != 0) revert DuplicateRoot(root, existing.id);

        batchId = _roots.length;
        _roots.push(root);
        _batches[root] = Batch({
            id: uint64(batchId),
            leafCount: leafCount,
            blockNumber: uint64(block.number),
            manifestHash: manifestHash
        });
        emit Anchored(batchId, root, leafCount, manifestHash);
    }

    /// @notice Number of anchored batches.
    function batchCount() external view returns (uint256) {
        return _roots.length;
    }

    /// @notice The batch with the given id.
    /// @return root The batch root.
    /// @return batch What the chain stores about it.
    function batchAt(uint256 batchId) external view returns (bytes32 root, Batch memory batch) {
        if (batchId >= _roots.length) revert UnknownBatch(batchId);
        root = _roots[batchId];
        batch = _batches[root];
    }

    /// @notice The batch anchored under `root`; all fields zero when it is not anchored.
    function batchOf(bytes32 root) external view returns (Batch memory) {
        return _batches[root];
    }

    /// @notice Whether `root` is anchored, and in which block.
    /// @return anchored True when the root is anchored.
    /// @return blockNumber Block of the anchoring transaction, zero when not anchored.
    function anchoredAt(bytes32 root) external view returns (bool anchored, uint256 blockNumber) {
        Batch storage batch = _batches[root];
        return (batch.leafCount != 0, batch.blockNumber);
    }

    /// @notice True when `leaf` is in the anchored tree `root` by `proof`.
    /// @dev Leaves are double-hashed `standard-v1` leaves; false for roots that are not anchored.
    function verify(bytes32 root, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return _batches[root].leafCount != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @notice True when all `leaves` are in the anchored tree `root` by one multiproof.
    /// @dev False for an empty `leaves` (an empty multiproof proves nothing), for a multiproof
    /// whose lengths do not fit, and for roots that are not anchored.
    function verifyMulti(
        bytes32 root,
        bytes32[] calldata leaves,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external view returns (bool) {
        if (leaves.length == 0 || leaves.length + proof.length != proofFlags.length + 1) {
            return false;
        }
        return _batches[root].leafCount != 0
            && MerkleProof.multiProofVerifyCalldata(proof, proofFlags, root, leaves);
    }
}
